#pragma once
// A secret's (or a range's) JSON object as its method reads it (methods::SecretFields): methods
// never see JSON. The daemon's config passes each "secrets" entry, the agent's config each remote's
// key fields.

#include <nlohmann/json.hpp>
#include <string>

#include "methods/knock_method.hpp"
#include "policy/config_json.hpp"

namespace xk::policy {

class JsonSecretFields final : public methods::SecretFields {
  public:
    JsonSecretFields(const nlohmann::json &j, const std::string &path) : j_(j), path_(path) {}

    void only_keys(std::initializer_list<const char *> keys) const override {
        config_json::only_keys(j_, path_, keys);
    }
    bool has(const char *key) const override { return j_.contains(key); }
    std::string text(const char *key, const std::string &fallback, bool required) const override {
        return config_json::get_string(j_, path_, key, fallback, required);
    }
    uint64_t number(const char *key, uint64_t fallback, uint64_t min, uint64_t max) const override {
        return config_json::get_uint(j_, path_, key, fallback, min, max);
    }
    bool flag(const char *key, bool fallback) const override {
        return config_json::get_bool(j_, path_, key, fallback);
    }
    std::vector<std::string> texts(const char *key, bool required) const override {
        const nlohmann::json &a = config_json::get_array(j_, path_, key, required);
        std::vector<std::string> out;
        for (size_t i = 0; i < a.size(); ++i) {
            if (!a[i].is_string())
                config_json::fail(path_ + "." + key + "[" + std::to_string(i) + "]",
                                  "must be a string");
            out.push_back(a[i].get<std::string>());
        }
        return out;
    }
    std::vector<uint8_t> bytes(const char *text_key, const char *b64_key,
                               bool required) const override {
        return config_json::secret_bytes(j_, path_, text_key, b64_key, required);
    }
    [[noreturn]] void fail(const char *key, const std::string &problem) const override {
        config_json::fail(*key ? path_ + "." + key : path_, problem);
    }

  private:
    const nlohmann::json &j_;
    const std::string &path_;
};

}  // namespace xk::policy
