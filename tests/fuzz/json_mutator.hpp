// A structure-aware libFuzzer mutator for JSON inputs: half the time it parses the input and
// changes one node (an edge-case number, a number too large for any C++ type, another
// node's subtree, deep nesting, a dropped or renamed key, a longer array, a mutated string),
// so the config loader sees valid JSON of every shape, not only syntax errors. Otherwise, and
// when the input is no JSON, libFuzzer's byte mutations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

namespace xk::fuzz {

class JsonMutator {
  public:
    explicit JsonMutator(unsigned seed) : rng_(seed) {}

    size_t mutate(uint8_t *data, size_t size, size_t maxSize) {
        if (pick(2) == 0) return LLVMFuzzerMutate(data, size, maxSize);
        nlohmann::json doc = nlohmann::json::parse(data, data + size, nullptr, false);
        if (doc.is_discarded()) return LLVMFuzzerMutate(data, size, maxSize);
        nodes_.clear();
        maxSize_ = maxSize;
        collect(doc, 0);
        changeNode(*nodes_[pick(nodes_.size())]);
        std::string out =
            doc.dump(pick(3) == 0 ? 2 : -1, ' ', false, nlohmann::json::error_handler_t::replace);
        placeBigNumber(out);
        if (out.size() > maxSize) return LLVMFuzzerMutate(data, size, maxSize);
        std::memcpy(data, out.data(), out.size());
        return out.size();
    }

  private:
    static constexpr const char *kBig =
        "\x01"
        "big\x01";  // a placeholder nlohmann can hold

    size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

    void collect(nlohmann::json &j, int depth) {
        nodes_.push_back(&j);
        if (depth > 64 || !j.is_structured()) return;  // a deep chain: its top is enough
        for (auto &child : j) collect(child, depth + 1);
    }

    nlohmann::json edgeNumber() {
        static const nlohmann::json kNumbers[] = {0,
                                                  -1,
                                                  1,
                                                  7,
                                                  255,
                                                  256,
                                                  65535,
                                                  65536,
                                                  2147483647,
                                                  2147483648LL,
                                                  4294967295LL,
                                                  4294967296LL,
                                                  9007199254740993LL,
                                                  INT64_MAX,
                                                  INT64_MIN,
                                                  UINT64_MAX,
                                                  0.5,
                                                  -0.0,
                                                  1e308,
                                                  -1e308,
                                                  3.000000000001};
        return kNumbers[pick(std::size(kNumbers))];
    }

    nlohmann::json otherNode() {
        nlohmann::json &n = *nodes_[pick(nodes_.size())];
        return n;  // a copy: the source may be the node being changed
    }

    void changeNode(nlohmann::json &j) {
        switch (pick(9)) {
            case 0:
                j = edgeNumber();
                break;
            case 1:
                j = kBig;
                break;
            case 2:
                j = otherNode();
                break;
            case 3: {
                static const nlohmann::json kScalars[] = {
                    nullptr, true, false, "", "*", "tcp/22", "udp/1", "::/0", "0.0.0.0/0"};
                j = kScalars[pick(std::size(kScalars))];
                break;
            }
            case 4:
                nest(j);
                break;
            case 5:
                changeContainer(j);
                break;
            case 6:
                grow(j);
                break;
            case 7:
                changeString(j);
                break;
            default:
                j = j.is_number() ? nlohmann::json(-j.get<double>()) : edgeNumber();
                break;
        }
    }

    // Wraps the node in up to ~5000 arrays or objects (as many as the size limit allows).
    void nest(nlohmann::json &j) {
        const size_t depth = 1 + pick(pick(2) ? 8 : std::min<size_t>(5000, maxSize_ / 8 + 1));
        nlohmann::json inner = std::move(j);
        for (size_t i = 0; i < depth; ++i)
            inner = pick(2) ? nlohmann::json::array({std::move(inner)})
                            : nlohmann::json{{"k", std::move(inner)}};
        j = std::move(inner);
    }

    // A key dropped, renamed to another key of the document, or added with another's value.
    void changeContainer(nlohmann::json &j) {
        if (!j.is_object() || j.empty()) return grow(j);
        auto it = j.begin();
        std::advance(it, long(pick(j.size())));
        const std::string key = it.key();
        std::vector<std::string> keys;
        for (nlohmann::json *n : nodes_)
            if (n->is_object())
                for (auto &[k, v] : n->items()) keys.push_back(k);
        const std::string other = keys[pick(keys.size())];
        switch (pick(3)) {
            case 0:
                j.erase(key);
                break;
            case 1: {
                nlohmann::json v = std::move(j[key]);
                j.erase(key);
                j[other] = std::move(v);
                break;
            }
            default:
                j[other] = otherNode();
                break;
        }
    }

    // An array or string made long: many copies of an element, within the size limit (building
    // what libFuzzer then throws away costs more than running it).
    void grow(nlohmann::json &j) {
        const size_t copies = 1 + pick(pick(2) ? 4 : 2000);
        if (j.is_array() && !j.empty()) {
            const nlohmann::json e = j[pick(j.size())];
            const size_t fit = maxSize_ / (e.dump().size() + 1);
            for (size_t i = 0; i < copies && i < fit; ++i) j.push_back(e);
        } else if (j.is_string()) {
            std::string s = j.get<std::string>();
            std::string out;
            for (size_t i = 0; i < copies && out.size() < maxSize_; ++i) out += s.empty() ? "x" : s;
            j = out;
        } else {
            j = nlohmann::json::array({j});
        }
    }

    void changeString(nlohmann::json &j) {
        if (!j.is_string()) return changeContainer(j);
        std::string s = j.get<std::string>();
        s.resize(s.size() + 16);
        s.resize(LLVMFuzzerMutate(reinterpret_cast<uint8_t *>(s.data()), s.size() - 16, s.size()));
        j = s;
    }

    // The placeholder becomes a number no C++ type holds (or one at a type's edge).
    void placeBigNumber(std::string &out) {
        static const char *const kText[] = {"1e999",
                                            "-1e999",
                                            "1e-999",
                                            "18446744073709551616",
                                            "-9223372036854775809",
                                            "123456789012345678901234567890",
                                            "-0",
                                            "4294967296",
                                            "1.0",
                                            "1E2"};
        const std::string placeholder = nlohmann::json(kBig).dump();
        for (size_t at; (at = out.find(placeholder)) != std::string::npos;)
            out.replace(at, placeholder.size(), kText[pick(std::size(kText))]);
    }

    std::mt19937 rng_;
    size_t maxSize_ = 0;
    std::vector<nlohmann::json *> nodes_;
};

}  // namespace xk::fuzz
