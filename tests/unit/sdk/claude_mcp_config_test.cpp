#include <gtest/gtest.h>

#include <avenor/sdk/claude_mcp_config.hpp>
#include <stdexcept>

namespace {

namespace bj = boost::json;
namespace claude_mcp = avenor::sdk::claude_mcp;

TEST(ClaudeMcpConfig, ServerNameUsesTheFirstEightCharactersOfTheRunId) {
  EXPECT_EQ(claude_mcp::channel_server_name("0123456789abcdef"), "avenor-channel-01234567");
  EXPECT_TRUE(claude_mcp::is_channel_server_name("avenor-channel-01234567"));
  EXPECT_FALSE(claude_mcp::is_channel_server_name("avenor-channelish"));
  EXPECT_FALSE(claude_mcp::is_channel_server_name("github"));
}

TEST(ClaudeMcpConfig, UpsertIntoAMissingFileCreatesTheServerMap) {
  const bj::object entry =
      claude_mcp::channel_server_entry("/bin/avenor", "r1", "t1", "http://127.0.0.1:5");
  const std::string text = claude_mcp::upsert_server("", "avenor-channel-r1", entry);
  EXPECT_EQ(bj::parse(text),
            bj::parse(R"({"mcpServers":{"avenor-channel-r1":{"command":"/bin/avenor","args":[
              "claude-channel","--run-id","r1","--token","t1","--broker-url",
              "http://127.0.0.1:5"]}}})"));
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("\n  \"mcpServers\": {\n"), std::string::npos) << text;
}

TEST(ClaudeMcpConfig, UpsertKeepsOtherEntriesKeysAndOrder) {
  const std::string before =
      R"({"a":1,"mcpServers":{"x":{"command":"x"},"avenor-channel-r1":{"command":"old"},"y":{}},"z":[]})";
  const std::string text =
      claude_mcp::upsert_server(before, "avenor-channel-r1", bj::object{{"command", "new"}});
  const bj::object root = bj::parse(text).as_object();
  std::vector<std::string> keys;
  for (const auto& kv : root) keys.emplace_back(kv.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "mcpServers", "z"}));
  std::vector<std::string> servers;
  for (const auto& kv : root.at("mcpServers").as_object()) servers.emplace_back(kv.key());
  EXPECT_EQ(servers, (std::vector<std::string>{"x", "avenor-channel-r1", "y"}));
  EXPECT_EQ(root.at("mcpServers").at("avenor-channel-r1").at("command"), "new");
}

TEST(ClaudeMcpConfig, RemoveServerReportsWhatIsLeft) {
  const std::string before = R"({"mcpServers":{"avenor-channel-r1":{"command":"a"}}})";
  claude_mcp::Removal r = claude_mcp::remove_server(before, "avenor-channel-r1");
  EXPECT_EQ(r.removed, (std::vector<std::string>{"avenor-channel-r1"}));
  EXPECT_TRUE(r.no_servers_left);
  EXPECT_EQ(bj::parse(r.text), bj::parse(R"({"mcpServers":{}})"));

  r = claude_mcp::remove_server(before, "avenor-channel-zz");
  EXPECT_TRUE(r.removed.empty());
  EXPECT_EQ(r.text, before);  // untouched text when nothing matched
  EXPECT_FALSE(r.no_servers_left);
}

TEST(ClaudeMcpConfig, RemoveServersKeepsOrderOfTheRest) {
  const std::string before =
      R"({"mcpServers":{"a":{},"avenor-channel-1":{},"b":{},"avenor-channel-2":{},"c":{}}})";
  const claude_mcp::Removal r =
      claude_mcp::remove_servers(before, [](std::string_view name, const bj::object&) {
        return claude_mcp::is_channel_server_name(name);
      });
  EXPECT_EQ(r.removed, (std::vector<std::string>{"avenor-channel-1", "avenor-channel-2"}));
  const bj::value after = bj::parse(r.text);
  std::vector<std::string> servers;
  for (const auto& kv : after.at("mcpServers").as_object()) servers.emplace_back(kv.key());
  EXPECT_EQ(servers, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ClaudeMcpConfig, RejectsFilesThatAreNotAnMcpConfig) {
  EXPECT_THROW(claude_mcp::parse_root("{"), std::runtime_error);
  EXPECT_THROW(claude_mcp::parse_root("[]"), std::runtime_error);
  EXPECT_THROW(claude_mcp::parse_root(R"({"mcpServers":[]})"), std::runtime_error);
  EXPECT_TRUE(claude_mcp::parse_root(" \n").empty());
}

TEST(ClaudeMcpConfig, FindsTheBrokerUrlInBothFlagForms) {
  EXPECT_EQ(claude_mcp::entry_broker_url(
                claude_mcp::channel_server_entry("a", "r", "t", "http://127.0.0.1:9")),
            "http://127.0.0.1:9");
  EXPECT_EQ(
      claude_mcp::entry_broker_url(
          bj::parse(R"({"args":["claude-channel","-broker-url=http://127.0.0.1:8"]})").as_object()),
      "http://127.0.0.1:8");
  EXPECT_EQ(claude_mcp::entry_broker_url(bj::object{{"command", "x"}}), std::nullopt);
  EXPECT_EQ(claude_mcp::entry_broker_url(bj::parse(R"({"args":["--broker-url"]})").as_object()),
            std::nullopt);
}

TEST(ClaudeMcpConfig, ForgetsAnApprovedServerInLocalSettings) {
  const std::string local =
      R"({"permissions":{"allow":[]},"enabledMcpjsonServers":["github","avenor-channel-1"]})";
  const auto text = claude_mcp::remove_enabled_server(local, "avenor-channel-1");
  ASSERT_TRUE(text);
  EXPECT_EQ(bj::parse(*text),
            bj::parse(R"({"permissions":{"allow":[]},"enabledMcpjsonServers":["github"]})"));
  EXPECT_FALSE(claude_mcp::remove_enabled_server(local, "avenor-channel-2"));
  EXPECT_FALSE(claude_mcp::remove_enabled_server("{", "x"));
  EXPECT_FALSE(claude_mcp::remove_enabled_server("{}", "x"));
}

}  // namespace
