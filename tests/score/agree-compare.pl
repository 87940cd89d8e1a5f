#!/usr/bin/perl
# agree-compare.pl - compare per-rule hit sets of SpamAssassin and sluice
# for tests/integ/t-score-agree.sh.
#
#   agree-compare.pl SA.out SLUICE.out SLUICE-RULES EXPECTED-DIFFERENCES.md
#
# SA.out and SLUICE.out are sa-hits.pl / score-hits output (MSG, HIT
# lines); SLUICE-RULES holds `score-hits --rules` RULE lines (it may be
# SLUICE.out itself, when one run printed both). For every rule that hits
# on either side and that sluice runs, the two sets of messages must be
# equal, or the rule must be listed in EXPECTED-DIFFERENCES.md as
#	- `RULE`: reason		(or `PREFIX*` for a family)
# Output, one per line, for the shell to turn into TAP:
#	T<TAB>0|1<TAB>description	a test (0: pass)
#	D<TAB>text			a diagnostic
#	S<TAB>key<TAB>value		summary counts
use strict;
use warnings;

my ($sa_out, $sl_out, $sl_rules, $expected) = @ARGV;
die "usage: agree-compare.pl SA.out SLUICE.out SLUICE-RULES EXPECTED.md\n"
    unless defined $expected;

# Read MSG/HIT lines: returns (\%hits{rule}{msg}, \@msgs, $mode).
sub read_hits {
	my $f = shift;
	my (%hits, @msgs, $cur);
	my $mode = 'all';
	open(my $fh, '<', $f) or die "$f: $!\n";
	while (<$fh>) {
		chomp;
		my ($k, $v) = split(/\t/, $_, 2);
		next unless defined $v;
		if ($k eq 'MSG') { $cur = $v; push @msgs, $v; }
		elsif ($k eq 'HIT') { $hits{$v}{$cur} = 1 if defined $cur; }
		elsif ($k eq 'MODE') { $mode = $v; }
	}
	close $fh;
	return (\%hits, \@msgs, $mode);
}

my ($sa, $sa_msgs) = read_hits($sa_out);
my ($sl, $sl_msgs, $mode) = read_hits($sl_out);

# The two runs must have seen the same messages, in any order.
my %seen;
$seen{$_} |= 1 for @$sa_msgs;
$seen{$_} |= 2 for @$sl_msgs;
my @only = grep { $seen{$_} != 3 } sort keys %seen;
printf "T\t%d\tboth sides scored the same %d messages\n",
    @only ? 1 : 0, scalar @$sa_msgs;
print "D\tmessage on one side only: $_\n" for @only[0 .. ($#only < 4 ? $#only : 4)];

my %state;	# sluice: run / unsupported:FN / error
my %type;
my %deps;	# meta -> the rules it reads
open(my $rf, '<', $sl_rules) or die "$sl_rules: $!\n";
while (<$rf>) {
	chomp;
	my (undef, $name, $type, $st, undef, $deps) = split /\t/;
	next unless defined $st;
	$state{$name} = $st;
	$type{$name} = $type;
	$deps{$name} = [grep { length } split(/,/, $deps // '')];
}
close $rf;

# Does rule r hit exactly the same messages on both sides?
sub same {
	my $r = shift;
	my %a = %{$sa->{$r} || {}};
	my %b = %{$sl->{$r} || {}};
	return 0 if keys %a != keys %b;
	for (keys %a) { return 0 unless $b{$_}; }
	return 1;
}

# Why a meta may differ without being wrong itself: the rules below it
# (transitively, bounded) that sluice cannot run, and those that differ.
# Returns (\@unsupported, \@differing) leaf causes.
sub dep_causes {
	my $r = shift;
	my (%u, %d, %vis);
	my @stack = ([$r, 0]);
	while (@stack) {
		my ($x, $depth) = @{pop @stack};
		next if $vis{$x}++ || $depth > 64;
		for my $y (@{$deps{$x} || []}) {
			my $st = $state{$y} // 'undefined';
			if ($st ne 'run') {
				# SpamAssassin runs no net rule here either
				$u{"$y ($st)"} = 1 unless ($type{$y} // '') =~ /,net/;
			} elsif ($mode eq 'all' || $y !~ /^__/) {
				# name the leaves that differ; a meta only
				# when nothing below it does
				$d{$y} = ($type{$y} // '') =~ /^meta/ ? 1 : 2
				    unless same($y);
			}
			push @stack, [$y, $depth + 1];
		}
	}
	my @leaves = grep { $d{$_} == 2 } keys %d;
	return ([sort keys %u], [sort(@leaves ? @leaves : keys %d)]);
}

my (%doc, @docglob);
open(my $ef, '<', $expected) or die "$expected: $!\n";
while (<$ef>) {
	next unless /^\s*[-*]\s+`([A-Za-z0-9_]+)(\*?)`\s*:\s*(.*?)\s*$/;
	if ($2 eq '*') { push @docglob, [$1, $3]; }
	else { $doc{$1} = $3; }
}
close $ef;

# The reason a rule is listed for; $exact_out (optional ref) is set when
# the rule is named exactly (not through a PREFIX* family).
sub documented {
	my ($r, $exact_out) = @_;
	$$exact_out = exists $doc{$r} if $exact_out;
	return $doc{$r} if exists $doc{$r};
	for my $g (@docglob) {
		return $g->[1] if index($r, $g->[0]) == 0;
	}
	return undef;
}

my %n = (compared => 0, agree => 0, documented => 0, differ => 0, inherited => 0,
    unsupported => 0, subrules_skipped => 0, doc_stale => 0);
my %cause;
my %all = map { $_ => 1 } (keys %$sa, keys %$sl);
for my $r (sort keys %all) {
	if ($mode eq 'scored' && $r =~ /^__/) {
		$n{subrules_skipped}++;
		next;
	}
	my $st = $state{$r} // 'undefined';
	if ($st =~ /^unsupported/) {
		# not loaded by sluice: part of the load report, not of this
		# comparison (a hit in sluice would be a bug, though)
		$n{unsupported}++;
		if ($sl->{$r}) {
			print "T\t1\t$r: hits in sluice but reported unsupported\n";
			$n{differ}++;
		}
		next;
	}
	$n{compared}++;
	my %a = %{$sa->{$r} || {}};
	my %b = %{$sl->{$r} || {}};
	my @sa_only = sort grep { !$b{$_} } keys %a;
	my @sl_only = sort grep { !$a{$_} } keys %b;
	my $desc = sprintf "%s (%s): SpamAssassin %d, sluice %d messages",
	    $r, $type{$r} // $st, scalar keys %a, scalar keys %b;
	my $exact;
	my $why = documented($r, \$exact);
	if (!@sa_only && !@sl_only) {
		$n{agree}++;
		print "T\t0\t$desc, same set\n";
		if (defined $why && $exact) {
			$n{doc_stale}++;
			print "D\t$r agrees now: remove it from EXPECTED-DIFFERENCES.md\n";
		}
		next;
	}
	my $detail = sprintf "SA only %d, sluice only %d",
	    scalar @sa_only, scalar @sl_only;
	if (defined $why) {
		$n{documented}++;
		$cause{$why}++;
		print "T\t0\t$desc, $detail # documented: $why\n";
		next;
	}
	if (($type{$r} // '') =~ /^meta/) {
		my ($u, $d) = dep_causes($r);
		if (@$u && defined($why = documented('DEPENDS_ON_UNSUPPORTED'))) {
			my $c = "reads " . join(', ', @$u[0 .. ($#$u < 2 ? $#$u : 2)]) .
			    (@$u > 3 ? ", ..." : "");
			$n{inherited}++;
			my %fn = map { /\((?:unsupported:)?([^)]*)\)/ ? ($1 => 1) : () } @$u;
			$cause{"meta reading rules sluice cannot run (" .
			    join(', ', sort keys %fn) . ")"}++;
			print "T\t0\t$desc, $detail # inherited: $c\n";
			next;
		}
		if (@$d && defined($why = documented('INHERITED_FROM_DEPENDENCY'))) {
			my $c = "reads differing " . join(', ', @$d[0 .. ($#$d < 2 ? $#$d : 2)]) .
			    (@$d > 3 ? ", ..." : "");
			$n{inherited}++;
			$cause{"meta reading differing " . join(', ', @$d)}++;
			print "T\t0\t$desc, $detail # inherited: $c\n";
			next;
		}
	}
	$n{differ}++;
	print "T\t1\t$desc, $detail\n";
	print "D\t  SA only: $_\n" for @sa_only[0 .. ($#sa_only < 2 ? $#sa_only : 2)];
	print "D\t  sluice only: $_\n" for @sl_only[0 .. ($#sl_only < 2 ? $#sl_only : 2)];
	print "D\t  sluice state: $st\n" if $st ne 'run';
}
print "S\t$_\t$n{$_}\n" for sort keys %n;
print "S\tmode\t$mode\n";
printf "D\tdocumented cause: %3d rules: %s\n", $cause{$_}, $_
    for sort { $cause{$b} <=> $cause{$a} || $a cmp $b } keys %cause;
