#!/usr/bin/perl
# sa-hits.pl - which rules SpamAssassin 4.0 itself hits on each message,
# for tests/integ/t-score-agree.sh: one Perl process, rules parsed once,
# no network tests, no Bayes, no AWL/TxRep, no learning.
#
#   sa-hits.pl [-c CACHEDIR] [-r RULESDIR] [-s SITEDIR] FILE...
#	MSG<TAB>FILE, then HIT<TAB>RULE for every rule hit (scored rules
#	and __ sub-rules), sorted, once each.
#   sa-hits.pl --rules [-r RULESDIR] [-s SITEDIR]
#	RULE<TAB>NAME<TAB>TYPE<TAB>SCORE<TAB>S0,S1,S2,S3 for every rule:
#	its score in the active set (0: no net, no Bayes) and in the four
#	score sets (TYPE as SpamAssassin's %TYPE_AS_STRING, "eval:" in
#	front for eval rules, ",net" appended for tflags net).
#
# The rule directories default to what `spamassassin -L -t` reads on
# Debian: /usr/share/spamassassin and /etc/spamassassin. With -c, the
# answer for a message is cached in CACHEDIR/<sha1 of the message>; the
# caller keys CACHEDIR on the rules and this script (never committed).
use strict;
use warnings;
use Digest::SHA qw(sha1_hex);
use Mail::SpamAssassin;
use Mail::SpamAssassin::Conf;

my ($cache, $rulesdir, $sitedir, $list_rules) =
    (undef, '/usr/share/spamassassin', '/etc/spamassassin', 0);
while (@ARGV && $ARGV[0] =~ /^-/) {
	my $o = shift @ARGV;
	if ($o eq '-c') { $cache = shift @ARGV; }
	elsif ($o eq '-r') { $rulesdir = shift @ARGV; }
	elsif ($o eq '-s') { $sitedir = shift @ARGV; }
	elsif ($o eq '--rules') { $list_rules = 1; }
	elsif ($o eq '--') { last; }
	else { die "usage: sa-hits.pl [-c DIR] [-r DIR] [-s DIR] [--rules] FILE...\n"; }
}

# Scratch home: SpamAssassin must not read or write ~/.spamassassin.
my $home = $ENV{TMPDIR} || '/tmp';
my $sa = Mail::SpamAssassin->new({
	rules_filename => $rulesdir,
	site_rules_filename => $sitedir,
	userprefs_filename => '/dev/null',
	dont_copy_prefs => 1,
	local_tests_only => 1,
	home_dir_for_helpers => $home,
	username => scalar getpwuid($<),
	post_config_text => "use_bayes 0\nbayes_auto_learn 0\n" .
	    "use_auto_whitelist 0\nuse_txrep 0\n",
});
$sa->init(1);

if ($list_rules) {
	my $conf = $sa->{conf};
	my $scores = $conf->{scores};
	for my $name (sort keys %{$conf->{test_types}}) {
		my $t = $conf->{test_types}{$name};
		my $type = $Mail::SpamAssassin::Conf::TYPE_AS_STRING{$t} || "?$t";
		$type = "eval:$type" if $t & 1;
		my $tf = $conf->{tflags}{$name} || '';
		$type .= ",net" if $tf =~ /\bnet\b/;
		my $s = $scores->{$name};
		printf "RULE\t%s\t%s\t%s\t%s\n", $name, $type,
		    defined $s ? $s : 'undef', join(',', map {
			$conf->{scoreset}[$_]{$name} // 0 } 0 .. 3);
	}
	exit 0;
}

sub slurp {
	my $f = shift;
	open(my $fh, '<:raw', $f) or die "$f: $!\n";
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s;
}

for my $f (@ARGV) {
	my $text = slurp($f);
	my $key = sha1_hex($text);
	my $out;
	if (defined $cache && -f "$cache/$key") {
		$out = slurp("$cache/$key");
	} else {
		my $mail = $sa->parse($text, 1);
		my $pms = $sa->check($mail);
		my %hit;
		$hit{$_} = 1 for grep { length } split(/,/,
		    $pms->get_names_of_tests_hit());
		$hit{$_} = 1 for grep { length } split(/,/,
		    $pms->get_names_of_subtests_hit());
		$out = join('', map { "HIT\t$_\n" } sort keys %hit);
		$pms->finish();
		$mail->finish();
		if (defined $cache) {
			# write then rename: parallel runs never see half a file
			my $tmp = "$cache/.$key.$$";
			open(my $fh, '>:raw', $tmp) or die "$tmp: $!\n";
			print $fh $out;
			close($fh) or die "$tmp: $!\n";
			rename($tmp, "$cache/$key") or die "$cache/$key: $!\n";
		}
	}
	print "MSG\t$f\n", $out;
}
