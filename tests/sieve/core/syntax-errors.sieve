keep
fileinto "x";
if header :is "a" { keep; }
