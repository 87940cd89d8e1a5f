require "fileinto"; fileinto "x"
