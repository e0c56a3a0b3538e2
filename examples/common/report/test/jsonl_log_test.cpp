#include "common/report/jsonl_log.hpp"

#include <doctest/doctest.h>

#include "common/io/binary_file.hpp"
#include "common/io/file_error.hpp"
#include "common/io/test/test_support.hpp"

namespace rescan_examples {
namespace {

std::string read_text(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  return std::string(bytes.begin(), bytes.end());
}

TEST_CASE("jsonl_log appends one flushed line per record, across reopenings") {
  test::scratch_directory scratch;
  const std::string path = scratch.file("log.jsonl");
  {
    jsonl_log log(path);
    log.write({{"step", 1}, {"loss", 0.5}});
    CHECK(read_text(path) == "{\"loss\":0.5,\"step\":1}\n");  // flushed before the log closes
  }
  jsonl_log again(path);
  again.write({{"note", "caf\xc3\xa9"}});
  again.write({{"bad", "\xff"}});  // invalid UTF-8 is replaced, not thrown
  CHECK(read_text(path) == "{\"loss\":0.5,\"step\":1}\n{\"note\":\"caf\xc3\xa9\"}\n{\"bad\":\"\xef\xbf\xbd\"}\n");
  CHECK(again.path() == path);
}

TEST_CASE("jsonl_log names a missing directory and an unopenable path") {
  test::scratch_directory scratch;
  const std::string missing = scratch.file("runs/log.jsonl");
  test::check_mentions(test::message_of<file_error>([&] { jsonl_log log(missing); }),
                       {"jsonl_log", scratch.file("runs"), "does not exist"});
  test::check_mentions(test::message_of<file_error>([&] { jsonl_log log(scratch.path()); }),
                       {"jsonl_log", "cannot open", scratch.path()});
  test::check_mentions(test::message_of<file_error>([&] { jsonl_log log(""); }), {"jsonl_log", "empty"});
}

}  // namespace
}  // namespace rescan_examples
