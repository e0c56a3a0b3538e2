#include <doctest/doctest.h>

#include "common/cli/arguments.hpp"

using rescan_examples::arguments;
using rescan_examples::usage_error;

namespace {

arguments declared() {
  arguments args;
  args.option("epochs", "3", "training epochs").option("lr", "0.001", "learning rate").option("out", "", "output");
  args.flag("quick", "a short run");
  return args;
}

void parse(arguments& args, std::vector<const char*> tokens) {
  tokens.insert(tokens.begin(), "program");
  args.parse(static_cast<int>(tokens.size()), tokens.data(), 1);
}

}  // namespace

TEST_CASE("arguments: defaults, values, inline values and flags") {
  arguments args = declared();
  parse(args, {"--epochs", "7", "--lr=0.5", "--quick"});
  CHECK(args.integer("epochs", 1, 100) == 7);
  CHECK(args.real("lr", 0, 1) == doctest::Approx(0.5));
  CHECK(args.flag_set("quick"));
  CHECK_FALSE(args.has("out"));
  CHECK(args.text("out").empty());

  arguments defaults = declared();
  parse(defaults, {});
  CHECK(defaults.integer("epochs", 1, 100) == 3);
  CHECK_FALSE(defaults.flag_set("quick"));
  CHECK(defaults.help().find("--epochs <value>") != std::string::npos);
  CHECK(defaults.help().find("(default: 3)") != std::string::npos);
}

TEST_CASE("arguments: every misuse is a usage_error naming the option") {
  auto fails = [](std::vector<const char*> tokens, const char* expected) {
    arguments args = declared();
    try {
      parse(args, tokens);
      args.integer("epochs", 1, 100);
      args.real("lr", 0, 1);
      FAIL("no error for ", expected);
    } catch (const usage_error& e) {
      CHECK_MESSAGE(std::string(e.what()).find(expected) != std::string::npos, e.what());
    }
  };
  fails({"--nope", "1"}, "unknown option --nope");
  fails({"--epochs"}, "--epochs needs a value");
  fails({"--epochs", "1", "--epochs", "2"}, "--epochs given twice");
  fails({"--quick=1"}, "--quick takes no value");
  fails({"stray"}, "unexpected argument 'stray'");
  fails({"--epochs", "x"}, "--epochs = 'x'");
  fails({"--epochs", "3x"}, "--epochs = '3x'");
  fails({"--epochs", "0"}, "integer in [1, 100]");
  fails({"--lr", "nan"}, "--lr = 'nan'");
  fails({"--lr", "2"}, "number in [0, 1]");
}
