#!/bin/sh
# load-report.sh - the load report of Debian's stock SpamAssassin 4.0.1
# rules in sluice (the numbers in the README): how many of the scored
# rules load and run, which eval: functions are unsupported and how many
# scored rules each one blocks.
#
#   tests/score/load-report.sh [BUILDDIR]	(default: the current dir)
#
# "Scored" is SpamAssassin's own view: a rule whose name does not start
# with "__" and whose score is non-zero in at least one of the four score
# sets, as SpamAssassin itself loads the files (tests/score/sa-hits.pl
# --rules, plugins as Debian's *.pre load them); the state of each such
# rule comes from sluice's loader (tests/score/score-hits.c --rules).
# Needs SpamAssassin's Perl modules and a C compiler.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-.}" && pwd)
RULES=/usr/share/spamassassin
SITE=/etc/spamassassin
# The external libraries the build links (its Makefile knows: static
# archives or -l flags, Hyperscan when configure found it).
ext_libs() {
	sed -n 's/^\(PCRE2_LIBS\|HS_LIBS\|LMDB_LIBS\|HIREDIS_LIBS\) = //p' \
	    "$1/Makefile" | tr '\n' ' '
}
for l in libsluice_score.a libsluice_store.a libsluice_msg.a libsluice_lib.a; do
	[ -f "$B/$l" ] || { echo "load-report.sh: no $B/$l (run make)" >&2; exit 1; }
done
T=$(mktemp -d /tmp/sluice-load-report.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
${CC:-cc} -std=gnu99 -O2 -I"$B" -I"$TOP/src" -o "$T/score-hits" \
    "$TOP/tests/score/score-hits.c" "$B/libsluice_score.a" \
    "$B/libsluice_store.a" "$B/libsluice_msg.a" "$B/libsluice_lib.a" \
    $(ext_libs "$B") -lm || exit 1
"$T/score-hits" -r "$RULES" -r "$SITE" --rules >"$T/sluice" || exit 1
"$T/score-hits" -r "$RULES" -r "$SITE" --report >"$T/report" || exit 1
TMPDIR="$T" perl "$TOP/tests/score/sa-hits.pl" -r "$RULES" -s "$SITE" \
    --rules >"$T/sa" || exit 1

perl - "$T/sa" "$T/sluice" "$T/report" <<'EOF'
use strict;
use warnings;
my ($saf, $slf, $repf) = @ARGV;
my (%sa, %sl);
open(my $fh, '<', $saf) or die;
while (<$fh>) {
	chomp;
	my (undef, $n, $type, undef, $sets) = split /\t/;
	$sa{$n} = { type => $type, sets => [split /,/, $sets] };
}
open($fh, '<', $slf) or die;
while (<$fh>) {
	chomp;
	my (undef, $n, $type, $st) = split /\t/;
	$sl{$n} = { type => $type, state => $st };
}
# "empty" rules have a score but no definition (SpamAssassin never runs
# them: testing rules whose body was removed); they are not counted.
my @empty = grep { $_ !~ /^__/ && $sa{$_}{type} eq 'empty' } keys %sa;
my @scored = sort grep { $_ !~ /^__/ && $sa{$_}{type} ne 'empty' &&
    grep { $_ != 0 } @{$sa{$_}{sets}} } keys %sa;
my (%kind, %run, %fn, %fnrules);
my $notrun_net = 0;
for my $n (@scored) {
	my $t = $sa{$n}{type};
	my $k = $t =~ /^eval:/ ? 'eval' : 'regex/meta';
	my $net = $t =~ /,net/;
	$kind{$k}++;
	$kind{net}++ if $net;
	my $st = $sl{$n} ? $sl{$n}{state} : 'missing';
	if ($st eq 'run') {
		$run{$k}++;
		next;
	}
	$notrun_net++ if $net;
	if ($st eq 'missing') {
		$fn{'(not defined in sluice)'}++;
		push @{$fnrules{'(not defined in sluice)'}}, $n;
		next;
	}
	(my $f = $st) =~ s/^unsupported://;
	$f = "(error: $n)" if $st eq 'error';
	$fn{$f}++;
	push @{$fnrules{$f}}, $n;
}
my $total = @scored;
my $runs = ($run{'regex/meta'} // 0) + ($run{eval} // 0);
printf "SpamAssassin 4.0.1 stock rules (%s + %s)\n", '/usr/share/spamassassin', '/etc/spamassassin';
printf "scored rules (non-zero score in any score set): %d " .
    "(and %d scored names without a definition, not counted)\n",
    $total, scalar @empty;
printf "  regex/meta rules: %d, sluice runs %d\n", $kind{'regex/meta'} // 0, $run{'regex/meta'} // 0;
printf "  eval rules:       %d, sluice runs %d\n", $kind{eval} // 0,
    $run{eval} // 0;
printf "  total: sluice loads and runs %d of %d scored rules (%.1f %%)\n",
    $runs, $total, $total ? 100 * $runs / $total : 0;
printf "not run: %d rules (%d of them network tests: tflags net), " .
    "by eval function:\n", $total - $runs, $notrun_net;
for my $f (sort { $fn{$b} <=> $fn{$a} || $a cmp $b } keys %fn) {
	my @r = @{$fnrules{$f} || []};
	printf "  %-40s %3d  %s\n", $f, $fn{$f},
	    join(' ', @r[0 .. ($#r < 3 ? $#r : 3)]) . (@r > 4 ? ' ...' : '');
}
print "\nsluice's own load report (score set 0):\n";
open($fh, '<', $repf) or die;
my $in_list = 0;
while (<$fh>) {
	# the per-function list is above, from SpamAssassin's point of view
	$in_list = 1 if /^unsupported eval functions/;
	$in_list = 0 if /^\S/ && !/^unsupported eval functions/;
	print "  $_" unless $in_list && /^\s/;
}
EOF
