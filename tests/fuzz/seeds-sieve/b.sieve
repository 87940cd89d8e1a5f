require "fileinto";
if header :contains "subject" "x" {
	fileinto "A"
}
stop stop;
