// RunRegistry: the MCP server's runs, found by run id, runtime id or label
// (control.md §11.3 "Registry").
#include "mcp/run_registry.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace avenor::host::mcp {
namespace {

const std::string kSupA = "/tmp/a.sock";
const std::string kSupB = "/tmp/b.sock";

RunRecord record(std::string run_id, std::string label, std::string sup, std::string runtime) {
  RunRecord r;
  r.run_id = std::move(run_id);
  r.label = std::move(label);
  r.supervisor_id = std::move(sup);
  r.runtime_id = std::move(runtime);
  return r;
}

std::vector<std::string> ids(const std::vector<RunRecord*>& runs) {
  std::vector<std::string> out;
  for (const RunRecord* r : runs) out.push_back(r->run_id);
  return out;
}

std::string id_of(const RunRecord* r) { return r == nullptr ? "<none>" : r->run_id; }

TEST(McpRunRegistry, FindsByRunIdOnAnySupervisor) {
  RunRegistry reg;
  reg.add(record("u1", "job", kSupA, "rt_1"));
  EXPECT_EQ(id_of(reg.find("u1", kSupA)), "u1");
  // A run id is unique: it names the run whatever supervisor is asked.
  EXPECT_EQ(id_of(reg.find("u1", kSupB)), "u1");
  EXPECT_EQ(id_of(reg.find("u1")), "u1");
  EXPECT_EQ(id_of(reg.find("u2", kSupA)), "<none>");
  EXPECT_EQ(id_of(reg.find("", kSupA)), "<none>");
}

TEST(McpRunRegistry, AddReturnsTheStoredRecordAndReplacesByRunId) {
  RunRegistry reg;
  RunRecord& added = reg.add(record("u1", "first", kSupA, "rt_1"));
  EXPECT_EQ(&added, reg.find("u1", kSupA));
  reg.add(record("u1", "second", kSupA, "rt_2"));
  ASSERT_EQ(reg.on_supervisor(kSupA).size(), 1u);
  EXPECT_EQ(reg.find("u1", kSupA)->label, "second");
  EXPECT_EQ(id_of(reg.find("first", kSupA)), "<none>");
}

TEST(McpRunRegistry, RuntimeIdFindsTheNewestRunOnIt) {
  RunRegistry reg;
  reg.add(record("u1", "job", kSupA, "rt_1"));
  reg.add(record("u2", "job-followup", kSupA, "rt_1"));  // a follow-up on the parked runtime
  reg.add(record("u3", "other", kSupA, "rt_2"));
  EXPECT_EQ(id_of(reg.find("rt_1", kSupA)), "u2");
  EXPECT_EQ(id_of(reg.find("rt_2", kSupA)), "u3");
  EXPECT_EQ(id_of(reg.newest_on_runtime(kSupA, "rt_1")), "u2");
  EXPECT_EQ(id_of(reg.newest_on_runtime(kSupA, "rt_9")), "<none>");
}

TEST(McpRunRegistry, NewestLabelWins) {
  RunRegistry reg;
  reg.add(record("u1", "job", kSupA, "rt_1"));
  reg.add(record("u2", "job", kSupA, "rt_2"));
  EXPECT_EQ(id_of(reg.find("job", kSupA)), "u2");
  reg.add(record("u3", "job", kSupA, "rt_3"));
  EXPECT_EQ(id_of(reg.find("job", kSupA)), "u3");
}

TEST(McpRunRegistry, RunIdBeatsRuntimeIdBeatsLabel) {
  RunRegistry reg;
  reg.add(record("u1", "rt_2", kSupA, "rt_1"));  // a label that looks like a runtime id
  reg.add(record("u2", "u1", kSupA, "rt_2"));    // a label that looks like a run id
  EXPECT_EQ(id_of(reg.find("u1", kSupA)), "u1");
  EXPECT_EQ(id_of(reg.find("rt_2", kSupA)), "u2");
}

TEST(McpRunRegistry, RuntimeIdsAndLabelsAreScopedToTheSupervisor) {
  RunRegistry reg;
  reg.add(record("a1", "job", kSupA, "rt_1"));
  reg.add(record("b1", "job", kSupB, "rt_1"));
  EXPECT_EQ(id_of(reg.find("rt_1", kSupA)), "a1");
  EXPECT_EQ(id_of(reg.find("rt_1", kSupB)), "b1");
  EXPECT_EQ(id_of(reg.find("job", kSupA)), "a1");
  EXPECT_EQ(id_of(reg.find("job", kSupB)), "b1");
  EXPECT_EQ(id_of(reg.find("job", "/tmp/c.sock")), "<none>");
  EXPECT_EQ(id_of(reg.find("rt_1", "/tmp/c.sock")), "<none>");
  EXPECT_EQ(id_of(reg.newest_on_runtime(kSupB, "rt_1")), "b1");
}

TEST(McpRunRegistry, OnSupervisorInInsertionOrderAndRemoveSupervisor) {
  RunRegistry reg;
  reg.add(record("a1", "x", kSupA, "rt_1"));
  reg.add(record("b1", "y", kSupB, "rt_1"));
  reg.add(record("a2", "z", kSupA, "rt_2"));
  EXPECT_EQ(ids(reg.on_supervisor(kSupA)), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(ids(reg.on_supervisor(kSupB)), (std::vector<std::string>{"b1"}));

  RunRecord* b1 = reg.find("b1");
  reg.remove_supervisor(kSupA);
  EXPECT_TRUE(reg.on_supervisor(kSupA).empty());
  EXPECT_EQ(id_of(reg.find("a1")), "<none>");
  EXPECT_EQ(id_of(reg.find("x", kSupA)), "<none>");
  EXPECT_EQ(id_of(reg.find("rt_2", kSupA)), "<none>");
  // The other supervisor's runs stay, at the same address.
  EXPECT_EQ(reg.find("b1"), b1);
  EXPECT_EQ(ids(reg.on_supervisor(kSupB)), (std::vector<std::string>{"b1"}));
  reg.remove_supervisor("/tmp/none.sock");  // nothing there: no effect
  EXPECT_EQ(ids(reg.on_supervisor(kSupB)), (std::vector<std::string>{"b1"}));
}

TEST(McpRunRegistry, RecordsKeepTheirAddressWhenOthersAreAdded) {
  RunRegistry reg;
  RunRecord* first = &reg.add(record("u1", "job", kSupA, "rt_1"));
  for (int i = 2; i < 100; ++i)
    reg.add(record("u" + std::to_string(i), "l", kSupA, "rt_" + std::to_string(i)));
  EXPECT_EQ(reg.find("u1"), first);
  EXPECT_EQ(first->label, "job");
}

}  // namespace
}  // namespace avenor::host::mcp
