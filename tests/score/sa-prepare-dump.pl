#!/usr/bin/perl
# sa-prepare-dump.pl - what SpamAssassin 4.0 sees of each message given:
# get() of some headers, the rendered body lines, rawbody chunks, URIs and
# the relay pseudo-headers, one "KEY<TAB>value" line each (\n, \t and \\
# escaped), "MSG<TAB>file" first. tests/score/sm-prepare-dump.c prints
# the same for sluice's prepare.c; diff the two. No network, no rules.
use strict;
use warnings;
use Mail::SpamAssassin;
use Mail::SpamAssassin::PerMsgStatus;

my @hdrs = ('Subject', 'From', 'From:addr', 'From:name', 'To', 'ToCc',
    'Message-Id', 'MESSAGEID', 'Received:first', 'Reply-To:addr',
    'From:addr:host', 'From:addr:domain', 'X-Mailer:raw', 'EnvelopeFrom',
    'X-Spam-Relays-Untrusted', 'X-Spam-Relays-Trusted');

# post_config_text, not config_text: config_text replaces the stock rule
# files, and with them the TLD lists (20_aux_tlds.cf) and the
# redirector_pattern lines that URI extraction and :domain depend on.
my $sa = Mail::SpamAssassin->new({
	local_tests_only => 1, dont_copy_prefs => 1,
	userprefs_filename => '/dev/null', username => 'nobody',
	post_config_text => "use_bayes 0\n",
});
$sa->init(1);

sub esc { my $s = shift; $s =~ s/\\/\\\\/g; $s =~ s/\n/\\n/g;
	$s =~ s/\t/\\t/g; $s =~ s/\r/\\r/g; return $s; }

for my $f (@ARGV) {
	open(my $fh, '<', $f) or die "$f: $!";
	my @lines = <$fh>;
	close $fh;
	shift @lines if @lines && $lines[0] =~ /^From /;
	my $mail = $sa->parse(\@lines);
	my $pms = Mail::SpamAssassin::PerMsgStatus->new($sa, $mail);
	$pms->extract_message_metadata();
	print "MSG\t$f\n";
	for my $h (@hdrs) {
		my @v = $pms->get($h);
		my $hv = @v ? join($v[0] =~ /\n\z/ ? "" : "\n", @v) : undef;
		print "H\t$h\t", (defined $hv ? esc($hv) : '(unset)'), "\n";
	}
	print "B\t", esc($_), "\n" for @{$mail->get_rendered_body_text_array()};
	print "R\t", esc($_), "\n" for @{$mail->get_decoded_body_text_array()};
	print "U\t", esc($_), "\n" for sort { $a cmp $b } $pms->get_uri_list();
	$pms->finish();
	$mail->finish();
}
