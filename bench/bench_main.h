// A main() for Google Benchmark binaries that, besides the usual console
// table, prints one machine-readable line per result:
//   NAME VALUE UNIT
// with the real time per iteration in microseconds (the median over the
// repetitions for benchmarks that repeat) and, where the benchmark counts
// items, the throughput in items per second.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

namespace reins::bench {

class LineReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      // With repetitions, only the median is reported (as NAME_median).
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      std::string name = run.benchmark_name();
      for (char& c : name) {
        if (c == '/' || c == ':') c = '_';
      }
      double us = run.GetAdjustedRealTime() *
                  benchmark::GetTimeUnitMultiplier(benchmark::kMicrosecond) /
                  benchmark::GetTimeUnitMultiplier(run.time_unit);
      lines_ += name + " " + std::to_string(us) + " us\n";
      auto items = run.counters.find("items_per_second");
      if (items != run.counters.end()) {
        lines_ += name + "_throughput " + std::to_string(static_cast<double>(items->second)) +
                  " items/s\n";
      }
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::fputs(lines_.c_str(), stdout);
  }

 private:
  std::string lines_;
};

}  // namespace reins::bench

#define REINS_BENCHMARK_MAIN()                                        \
  int main(int argc, char** argv) {                                   \
    benchmark::Initialize(&argc, argv);                               \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1; \
    reins::bench::LineReporter reporter;                              \
    benchmark::RunSpecifiedBenchmarks(&reporter);                     \
    benchmark::Shutdown();                                            \
    return 0;                                                         \
  }
