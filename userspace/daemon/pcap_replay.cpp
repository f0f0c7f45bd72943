#include "daemon/pcap_replay.hpp"

#include <pcap/pcap.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "auth/memory_store.hpp"
#include "policy/knock_policy.hpp"
#include "workers/knock_handler.hpp"

namespace xk::daemon {
namespace {

using nlohmann::json;

// Grants go to an in-memory store on the capture's clock, through the same seam as the
// daemon's map; every decision is printed.
class PrintSink : public workers::GrantSink {
  public:
    PrintSink(const policy::Config &config, auth::AuthorizationStore &store, bool quiet)
        : config_(config), store_(store), quiet_(quiet) {}
    uint64_t frame = 0;

    spa::Reject grant(const policy::Knock &k, const policy::Decision &d) override {
        int err = store_.grant(k.source, d.grant(), d.timeout_s, d.range_id, d.secret_id);
        print(k, d);
        return err == 0 ? spa::Reject::ok : spa::Reject::map_full;
    }
    void refuse(const policy::Knock &k, const policy::Decision &d) override { print(k, d); }

  private:
    void print(const policy::Knock &k, const policy::Decision &d) {
        if (quiet_) return;
        json j = {{"frame", frame},
                  {"time", k.now},
                  {"source", policy::format_address(k.source)},
                  {"port", k.port},
                  {"accepted", d.accepted()},
                  {"reason", spa::reject_name(d.reason)}};
        if (d.accepted()) {
            const policy::Range &r = config_.ranges[d.range_id];
            j["range"] = r.name;
            j["secret"] = r.secrets[d.secret_id].label;
            j["timeout"] = d.timeout_s;
            for (const auto &p : d.grant()) j["grant"].push_back(policy::format_port(p));
        }
        if (d.fko) {
            j["username"] = std::string(d.fko->user.view());
            j["message_type"] = static_cast<int>(d.fko->type);
            j["message"] = std::string(d.fko->message.view());
        }
        printf("%s\n", j.dump().c_str());
    }

    const policy::Config &config_;
    auth::AuthorizationStore &store_;
    bool quiet_;
};

}  // namespace

int replay_pcap(const policy::Config &config, const PcapReplayOptions &options) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t *pcap = pcap_open_offline(options.path.c_str(), errbuf);
    if (!pcap) {
        fprintf(stderr, "xdpknockd: %s\n", errbuf);
        return 1;
    }
    if (pcap_datalink(pcap) != DLT_EN10MB) {
        fprintf(stderr, "xdpknockd: %s: not an Ethernet capture\n", options.path.c_str());
        pcap_close(pcap);
        return 1;
    }
    policy::ReplayCache replay("", policy::KnockPolicy::replay_retention(config));
    policy::KnockPolicy policy(config, &replay);
    uint64_t capture_ns = 0;  // the store's clock: the capture time of the frame in hand
    auth::MemoryStore store([&] { return capture_ns; });
    PrintSink sink(config, store, options.quiet);
    workers::HandlerStats stats;
    workers::KnockHandler handler(policy, sink, stats);

    pcap_pkthdr *hdr = nullptr;
    const u_char *data = nullptr;
    auto start = std::chrono::steady_clock::now();
    while (pcap_next_ex(pcap, &hdr, &data) == 1) {
        ++sink.frame;
        capture_ns = uint64_t(hdr->ts.tv_sec) * 1000000000ull + uint64_t(hdr->ts.tv_usec) * 1000;
        handler.handle_frame(data, hdr->caplen, hdr->ts.tv_sec);
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    pcap_close(pcap);

    uint64_t frames = stats.frames.load(), not_knock = stats.not_knock.load();
    json rejected = json::object();
    for (size_t r = 0; r < spa::kRejectCount; ++r) {
        if (uint64_t v = stats.rejected[r].load())
            rejected[spa::reject_name(static_cast<spa::Reject>(r))] = v;
    }
    uint64_t knocks = frames - not_knock;
    json summary = {{"frames", frames},
                    {"knocks", knocks},
                    {"accepted", stats.accepted.load()},
                    {"authorized_at_end", store.count(capture_ns)},
                    {"rejected", rejected},
                    {"seconds", seconds},
                    {"knocks_per_second", seconds > 0 ? static_cast<double>(knocks) / seconds : 0}};
    printf("%s\n", json{{"summary", summary}}.dump().c_str());
    return 0;
}

}  // namespace xk::daemon
