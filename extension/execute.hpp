// Runs a cleanup: loads the catalog, plans, executes the steps through SPI, writes the
// audit row and returns the result jsonb. Everything runs in the caller's transaction, so
// an error anywhere leaves the data as it was.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "boundary.hpp"

namespace test_cleanup {

// test_cleanup.transient_indexes: build the indexes a cleanup lacks where its estimate says
// they pay (automatic), wherever a lookup needs one (on), or never (off).
enum class IndexMode { off, automatic, on };

struct CleanupRequest {
  std::optional<std::string> session;  // none: every test session
  std::string marker;
  bool skip_fk_checks = false;
  bool lock_tables = false;  // test_cleanup.lock_tables
  IndexMode transient_indexes = IndexMode::automatic;
  std::string session_label;  // the session as a JSON string ("null" for all), for the log
  std::string role;           // the calling role (outside SECURITY DEFINER), for the audit
  // A dry run: the caller rolls everything back afterwards (see entry.cpp). Here it only
  // turns a protected-table refusal into a warning, and marks the result and the log line.
  bool dry_run = false;
};

// Runs the cleanups one after another and returns the result jsonb of the single one, or
// (keyed) an object of results keyed by session id; allocated in the caller's memory
// context.
Datum run_cleanups(const std::vector<CleanupRequest> &requests, bool keyed);

struct ExplainedStep {
  std::string stage;
  std::string tables;
  std::string sql;
};

// The steps run_cleanup() would run, without running them.
std::vector<ExplainedStep> explain_cleanup(const CleanupRequest &request);

}  // namespace test_cleanup
