#!/usr/bin/env python3
# metrics.py - one row of bench-accuracy.sh's table from result lines
#	LABEL SCORE VERDICT [...]
# (LABEL spam|ham, SCORE the tool's score, higher = spammier, VERDICT
# spam|ham at the tool's threshold) read from the files named after the
# row fields:
#	metrics.py TOOL PROTOCOL THRESHOLD FILE...
# Prints: TOOL PROTOCOL ham spam FP% FN% ROC-area THRESHOLD.
# ROC area = P(score(spam) > score(ham)), ties counting one half (the
# Mann-Whitney statistic from average ranks), so a tool whose scores are
# coarse (verdicts only) is not flattered.
import sys


def auc(spam, ham):
    allv = sorted([(s, 1) for s in spam] + [(h, 0) for h in ham])
    rank, i, rsum = 1, 0, 0.0
    while i < len(allv):
        j = i
        while j < len(allv) and allv[j][0] == allv[i][0]:
            j += 1
        avg = (rank + rank + (j - i) - 1) / 2.0
        rsum += avg * sum(1 for k in range(i, j) if allv[k][1] == 1)
        rank += j - i
        i = j
    ns, nh = len(spam), len(ham)
    if not ns or not nh:
        return float("nan")
    return (rsum - ns * (ns + 1) / 2.0) / (ns * nh)


def main():
    tool, proto, thr = sys.argv[1:4]
    rows = []
    for f in sys.argv[4:]:
        with open(f) as fp:
            rows += [l.split() for l in fp if l.strip()]
    spam = [float(r[1]) for r in rows if r[0] == "spam"]
    ham = [float(r[1]) for r in rows if r[0] == "ham"]
    fp = sum(1 for r in rows if r[0] == "ham" and r[2] == "spam")
    fn = sum(1 for r in rows if r[0] == "spam" and r[2] == "ham")
    nh, ns = len(ham), len(spam)
    print("%-26s %-8s %5d %5d %7.2f %7.2f %9.5f  %s" % (
        tool, proto, nh, ns, 100.0 * fp / nh if nh else float("nan"),
        100.0 * fn / ns if ns else float("nan"), auc(spam, ham), thr))


main()
