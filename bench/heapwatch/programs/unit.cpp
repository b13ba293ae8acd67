#include <regex>
#include <map>
#include <unordered_map>
#include <string>
#include <vector>
#include <iostream>
#include <sstream>
#include <functional>
#include <algorithm>
int main(int c, char** v){ std::map<std::string,int> m; std::unordered_map<int,std::string> u; std::regex r(v[0]); std::ostringstream o; o << c; m[o.str()] = c; u[c] = o.str(); std::vector<std::function<int(int)>> f; f.push_back([](int x){return x+1;}); std::sort(f.begin(), f.end(), [](auto&, auto&){return false;}); return std::regex_search(o.str(), r) + (int)m.size() + (int)u.size(); }
