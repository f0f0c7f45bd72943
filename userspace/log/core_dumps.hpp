#pragma once
// A process holding keys (the daemon, the agent, the tool while it sends or makes keys)
// must not leave them in a core file: called first thing in each main.

namespace xk {

// PR_SET_DUMPABLE 0: no core file on a crash, whatever RLIMIT_CORE or core_pattern say,
// and /proc/<pid>/mem, environ and maps are root's only. Commands the process execs are
// dumpable again (execve resets it), so a hook's crash still leaves its own core.
// Returns false (and changes nothing) if the kernel refuses.
bool forbid_core_dumps();

}  // namespace xk
