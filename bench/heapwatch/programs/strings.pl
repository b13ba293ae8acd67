# Hash and string churn: keys and values built by concatenation, hashes
# filled, sorted and dropped.
use strict;
my $n = shift // 200000;
my $total = 0;
for my $round (1 .. 4) {
  my %h;
  for my $i (1 .. $n / 4) {
    my $k = "key-" . ($i * 7919 % 100003) . "-" . $round;
    $h{$k} = join(",", $i, $round, $k);
  }
  for my $k (sort keys %h) { $total += length($h{$k}); }
}
print "$total\n";
