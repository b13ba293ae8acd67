// Compiled by g++ under the preload in the workload tests, then run: heavy
// enough on templates that cc1plus allocates a lot, and the program itself
// allocates through operator new (containers, strings, shared_ptr, threads).
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

struct Node {
  std::string name;
  std::vector<std::shared_ptr<Node>> children;
};

std::shared_ptr<Node> tree(int depth, const std::string& prefix) {
  auto n = std::make_shared<Node>();
  n->name = prefix;
  if (depth > 0)
    for (int i = 0; i < 3; ++i) n->children.push_back(tree(depth - 1, prefix + "." + std::to_string(i)));
  return n;
}

size_t count(const Node& n) {
  size_t c = 1;
  for (const auto& ch : n.children) c += count(*ch);
  return c;
}

}  // namespace

int main() {
  auto root = tree(7, "r");
  std::map<std::string, int> lengths;
  std::unordered_map<int, std::vector<int>> buckets;
  std::vector<std::thread> threads;
  std::vector<unsigned long> sums(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t, &sums] {
      std::vector<std::unique_ptr<std::string>> v;
      for (int i = 0; i < 20000; ++i) v.push_back(std::make_unique<std::string>(static_cast<size_t>(i % 97 + t), 'x'));
      for (const auto& s : v) sums[static_cast<size_t>(t)] += s->size();
    });
  for (auto& th : threads) th.join();
  for (int i = 0; i < 10000; ++i) {
    lengths["k" + std::to_string(i % 500)] += i;
    buckets[i % 37].push_back(i);
  }
  std::printf("nodes %zu\n", count(*root));
  std::printf("lengths %zu first %s=%d\n", lengths.size(), lengths.begin()->first.c_str(), lengths.begin()->second);
  std::printf("buckets %zu b5 %zu\n", buckets.size(), buckets[5].size());
  std::printf("sums %lu\n", std::accumulate(sums.begin(), sums.end(), 0UL));
  return 0;
}
