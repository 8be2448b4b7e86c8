// How busy the whole machine was, from /proc/stat: benchmarks compare it
// with their own CPU time to tell how much other processes took from a run.
#pragma once

#include <fstream>
#include <string>

namespace reins::bench {

// Busy and total CPU time over all cores since boot, in clock ticks.
struct MachineCpu {
  double busy = 0, total = 0;
};

// Zeros when /proc/stat cannot be read.
inline MachineCpu ReadMachineCpu() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user, nice, system, idle, iowait, irq, softirq, steal;
  MachineCpu m;
  if (in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) {
    m.busy = user + nice + system + irq + softirq + steal;
    m.total = m.busy + idle + iowait;
  }
  return m;
}

}  // namespace reins::bench
