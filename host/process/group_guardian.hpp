// GroupGuardian: takes a child's whole process group down when avenor dies
// without saying goodbye (SIGKILL, crash). PR_SET_PDEATHSIG reaches only the
// child itself, while a backend's helpers share its process group and may
// ignore stdin EOF too (issue 15 item 9).
//
// The guardian is a tiny /bin/sh process in that group, named avenor-guard
// (started through a short-lived middle process, so it is no child of
// avenor and needs no reaping, and exec'd without copying avenor's memory),
// that ignores every signal but SIGKILL and reads one end of a socket pair.
// avenor holds the other end: release() sends a byte and the guardian exits
// quietly; if avenor dies instead, the guardian reads EOF and ends its
// group, itself included: SIGTERM, the host's 2 s grace, SIGKILL. While it
// lives, the group id cannot be reused, so signalling the group stays safe.
#pragma once

#include <sys/types.h>

#include "util/unique_fd.hpp"

namespace avenor::host {

class GroupGuardian {
 public:
  GroupGuardian() = default;
  // Starts a guardian in the existing process group `pgid`. When it cannot
  // (clone or exec failure, the group is gone) the result is inactive: the caller's
  // PDEATHSIG still covers the group leader.
  static GroupGuardian start(pid_t pgid);

  GroupGuardian(GroupGuardian&&) noexcept = default;
  GroupGuardian& operator=(GroupGuardian&& other) noexcept;
  ~GroupGuardian() { release(); }

  // The owner is done with the group: the guardian exits without killing.
  void release() noexcept;
  bool active() const { return link_.valid(); }

 private:
  explicit GroupGuardian(UniqueFd link) : link_(std::move(link)) {}

  UniqueFd link_;
};

}  // namespace avenor::host
