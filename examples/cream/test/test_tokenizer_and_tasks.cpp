// The CREAM example's character tokenizer and its five generated tasks. Every generated answer is
// recomputed here from the prompt alone by a plain oracle (std::stoi, std::sort, std::reverse,
// std::count); wrong answers are checked to be wrong and in the task's format; the data split is
// checked for sizes, task balance, disjoint pools and determinism.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cream/self_rewarding.hpp"
#include "cream/tasks.hpp"
#include "cream/tokenizer.hpp"

namespace rescan_examples::testing {
namespace {

// The tokenizer's table is usable at compile time.
static_assert(char_tokenizer().vocabulary_size() == 45);
static_assert(char_tokenizer().id_of(' ') == 3 && char_tokenizer().id_of('0') == 4 &&
              char_tokenizer().id_of('a') == 14 && char_tokenizer().id_of('?') == 44);
static_assert(char_tokenizer().id_of('A') == -1 && char_tokenizer().character_of(char_tokenizer::eos) == '\0');
static_assert(char_tokenizer().character_of(14) == 'a');

bool digits_only(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool letters_only(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

// A number as the tasks write it: digits, no leading zero unless it is "0".
bool canonical_number(const std::string& text) { return digits_only(text) && (text.size() == 1 || text[0] != '0'); }

// The text strictly between the prefix and the final '='; the prompt must have both.
std::string body(const std::string& prompt, const std::string& prefix) {
  REQUIRE(prompt.size() > prefix.size());
  REQUIRE(prompt.compare(0, prefix.size(), prefix) == 0);
  REQUIRE(prompt.back() == '=');
  return prompt.substr(prefix.size(), prompt.size() - prefix.size() - 1);
}

// The answer recomputed from the prompt alone, with the bounds of the task's format checked on the way.
std::string oracle_answer(const task_example& example) {
  const std::string& prompt = example.prompt;
  REQUIRE(!prompt.empty());
  REQUIRE(prompt.back() == '=');
  switch (example.task) {
    case task_kind::addition:
    case task_kind::subtraction: {
      const char sign = example.task == task_kind::addition ? '+' : '-';
      const std::size_t at = prompt.find(sign);
      REQUIRE(at != std::string::npos);
      const std::string left = prompt.substr(0, at), right = prompt.substr(at + 1, prompt.size() - at - 2);
      REQUIRE(canonical_number(left));
      REQUIRE(canonical_number(right));
      const int a = std::stoi(left), b = std::stoi(right);
      CHECK(a <= 99);
      CHECK(b <= 99);
      if (sign == '+') return std::to_string(a + b);
      CHECK(a >= b);
      return std::to_string(a - b);
    }
    case task_kind::sorting: {
      std::string digits = body(prompt, "s:");
      REQUIRE(digits_only(digits));
      CHECK(digits.size() >= 4);
      CHECK(digits.size() <= 7);
      std::sort(digits.begin(), digits.end());
      return digits;
    }
    case task_kind::reversal: {
      std::string letters = body(prompt, "r:");
      REQUIRE(letters_only(letters));
      CHECK(letters.size() >= 3);
      CHECK(letters.size() <= 6);
      std::reverse(letters.begin(), letters.end());
      return letters;
    }
    case task_kind::counting: {
      const std::string rest = body(prompt, "c:");
      REQUIRE(rest.size() >= 3);
      REQUIRE(rest[1] == ':');
      const char target = rest[0];
      const std::string letters = rest.substr(2);
      CHECK(letters.size() >= 4);
      CHECK(letters.size() <= 8);
      for (const char c : std::string(1, target) + letters) CHECK((c >= 'a' && c <= 'e'));
      return std::to_string(std::count(letters.begin(), letters.end(), target));
    }
  }
  FAIL("not a task_kind");
  return {};
}

// A pool's examples must all be right, of the interleaved task, with distinct prompts.
void check_pool(const std::vector<task_example>& pool, index_t per_task) {
  REQUIRE(pool.size() == std::size_t(per_task * task_count));
  for (std::size_t i = 0; i < pool.size(); ++i) {
    CHECK(pool[i].task == all_tasks()[i % std::size_t(task_count)]);
    CHECK(pool[i].answer == oracle_answer(pool[i]));
  }
}

std::vector<std::string> prompts_of(const std::vector<task_example>& pool) {
  std::vector<std::string> prompts;
  for (const task_example& example : pool) prompts.push_back(example.prompt);
  return prompts;
}

bool equal_data(const task_data& left, const task_data& right) {
  return left.pretrain == right.pretrain && left.seed == right.seed && left.test == right.test &&
         left.unlabeled == right.unlabeled;
}

}  // namespace

TEST_CASE("char_tokenizer: every alphabet character round-trips, ids 3..44 in alphabet order") {
  const char_tokenizer tokenizer;
  const std::string alphabet = " 0123456789abcdefghijklmnopqrstuvwxyz+-=:?";
  REQUIRE(tokenizer.vocabulary_size() == 45);
  const std::vector<std::int32_t> ids = tokenizer.encode(alphabet);
  REQUIRE(ids.size() == alphabet.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    CAPTURE(alphabet[i]);
    CHECK(ids[i] == std::int32_t(3 + i));
    CHECK(tokenizer.is_character(ids[i]));
    CHECK(tokenizer.decode(&ids[i], 1) == std::string(1, alphabet[i]));
  }
  CHECK(tokenizer.decode(ids) == alphabet);
  CHECK(tokenizer.decode(ids.data(), 0).empty());
  CHECK(tokenizer.encode("").empty());
  CHECK(tokenizer.encode("12+7=19") == std::vector<std::int32_t>{5, 6, 40, 11, 42, 5, 13});
  for (const std::int32_t special : {char_tokenizer::pad, char_tokenizer::bos, char_tokenizer::eos}) {
    CHECK(!tokenizer.is_character(special));
  }
}

TEST_CASE("char_tokenizer: unknown characters and ids that are not characters throw, naming the position") {
  const char_tokenizer tokenizer;
  CHECK_THROWS_WITH_AS(tokenizer.encode("ab#c"), doctest::Contains("'#' at position 2"), rescan::value_error);
  CHECK_THROWS_WITH_AS(tokenizer.encode("Abc"), doctest::Contains("'A' at position 0"), rescan::value_error);
  CHECK_THROWS_WITH_AS(tokenizer.encode("a\nb"), doctest::Contains("code 10 at position 1"), rescan::value_error);
  CHECK_THROWS_WITH_AS(tokenizer.encode(std::string("xyz\xff")), doctest::Contains("code 255 at position 3"),
                       rescan::value_error);

  CHECK_THROWS_WITH_AS(tokenizer.decode(std::vector<std::int32_t>{14, 15, 2}),
                       doctest::Contains("id 2 (eos) at position 2"), rescan::value_error);
  CHECK_THROWS_WITH_AS(tokenizer.decode(std::vector<std::int32_t>{1, 14}), doctest::Contains("id 1 (bos) at position 0"),
                       rescan::value_error);
  CHECK_THROWS_WITH_AS(tokenizer.decode(std::vector<std::int32_t>{14, 0}), doctest::Contains("id 0 (pad) at position 1"),
                       rescan::value_error);
  CHECK_THROWS_WITH_AS(tokenizer.decode(std::vector<std::int32_t>{14, 14, 14, 45}),
                       doctest::Contains("id 45 at position 3 is outside [0, 45)"), rescan::value_error);
  CHECK_THROWS_WITH_AS(tokenizer.decode(std::vector<std::int32_t>{-7}), doctest::Contains("id -7 at position 0"),
                       rescan::value_error);
  const std::int32_t one = 14;
  CHECK_THROWS_WITH_AS(tokenizer.decode(&one, -1), doctest::Contains("count = -1"), rescan::value_error);
  CHECK_THROWS_WITH_AS(tokenizer.decode(nullptr, 2), doctest::Contains("ids is nullptr"), rescan::value_error);
}

TEST_CASE("tasks: names, order and a hand-made example of each") {
  REQUIRE(all_tasks().size() == std::size_t(task_count));
  const std::vector<std::string> names = {"add", "sub", "sort", "reverse", "count"};
  const std::vector<task_kind> kinds = {task_kind::addition, task_kind::subtraction, task_kind::sorting,
                                        task_kind::reversal, task_kind::counting};
  for (std::size_t i = 0; i < names.size(); ++i) {
    CHECK(all_tasks()[i] == kinds[i]);
    CHECK(task_name(kinds[i]) == names[i]);
    CHECK(task_named(names[i]) == kinds[i]);
    CHECK(task_index(kinds[i]) == index_t(i));
  }
  CHECK_THROWS_WITH_AS(task_named("mul"), doctest::Contains("name = \"mul\""), rescan::value_error);
  CHECK_THROWS_WITH_AS(task_name(static_cast<task_kind>(7)), doctest::Contains("task = 7"), rescan::value_error);
  random_generator random(1);
  CHECK_THROWS_WITH_AS(make_example(static_cast<task_kind>(-1), random), doctest::Contains("task = -1"),
                       rescan::value_error);

  // The brief's own examples, answered by the oracle and judged by is_correct.
  const std::vector<task_example> by_hand = {{task_kind::addition, "47+85=", "132"},
                                             {task_kind::subtraction, "85-47=", "38"},
                                             {task_kind::sorting, "s:50713=", "01357"},
                                             {task_kind::reversal, "r:mamba=", "abmam"},
                                             {task_kind::counting, "c:a:abcab=", "2"}};
  for (const task_example& example : by_hand) {
    CAPTURE(example.prompt);
    CHECK(oracle_answer(example) == example.answer);
    CHECK(is_correct(example, example.answer));
    CHECK(!is_correct(example, example.answer + " "));
    CHECK(!is_correct(example, ""));
    CHECK(!is_correct(example, example.answer.substr(1)));
  }

  CHECK(prompt_space_size(task_kind::addition) == 10000);
  CHECK(prompt_space_size(task_kind::subtraction) == 5050);
  CHECK(prompt_space_size(task_kind::sorting) == 10000 + 100000 + 1000000 + 10000000);
  CHECK(prompt_space_size(task_kind::reversal) == 17576 + 456976 + 11881376 + 308915776);
  CHECK(prompt_space_size(task_kind::counting) == 5 * (625 + 3125 + 15625 + 78125 + 390625));
}

TEST_CASE("make_example: answers match an independent oracle, sequences fit in 24 tokens, the forms vary") {
  const char_tokenizer tokenizer;
  random_generator random(2024);
  for (const task_kind task : all_tasks()) {
    CAPTURE(std::string(task_name(task)));
    std::set<std::size_t> prompt_lengths;
    std::set<std::string> answers, prompts;
    for (int draw = 0; draw < 2000; ++draw) {
      const task_example example = make_example(task, random);
      CAPTURE(example.prompt);
      CHECK(example.task == task);
      CHECK(example.answer == oracle_answer(example));
      CHECK(!example.answer.empty());
      CHECK(example.answer.size() <= std::size_t(max_answer_length));
      const std::vector<std::int32_t> sequence = answer_sequence(tokenizer, example, example.answer).tokens;
      CHECK(sequence.size() == example.prompt.size() + example.answer.size() + 2);
      CHECK(sequence.size() <= std::size_t(max_sequence_length));
      CHECK(sequence.front() == char_tokenizer::bos);
      CHECK(sequence.back() == char_tokenizer::eos);
      CHECK(tokenizer.decode(sequence.data() + 1, index_t(sequence.size()) - 2) == example.prompt + example.answer);
      prompt_lengths.insert(example.prompt.size());
      answers.insert(example.answer);
      prompts.insert(example.prompt);
    }
    // Few repeats in 2000 draws: about S (1 − exp(−2000 / S)) distinct prompts from a space of S.
    const double space = double(prompt_space_size(task));
    CHECK(double(prompts.size()) > 0.95 * space * (1 - std::exp(-2000 / space)));
    switch (task) {
      case task_kind::addition:
        CHECK(answers.size() > 180);  // most sums 0..198 (0 and 198 have one prompt each)
        break;
      case task_kind::subtraction:
        CHECK(answers.size() > 90);  // most differences 0..99 (99 has one prompt)
        break;
      case task_kind::sorting:
        CHECK(prompt_lengths == std::set<std::size_t>{7, 8, 9, 10});  // "s:" + 4..7 digits + "="
        break;
      case task_kind::reversal:
        CHECK(prompt_lengths == std::set<std::size_t>{6, 7, 8, 9});  // "r:" + 3..6 letters + "="
        break;
      case task_kind::counting:
        CHECK(prompt_lengths == std::set<std::size_t>{9, 10, 11, 12, 13});  // "c:x:" + 4..8 + "="
        for (const char* count : {"0", "1", "2", "3", "4"}) CHECK(answers.count(count) == 1);
        break;
    }
  }
}

TEST_CASE("corrupt_answer: never the right answer, always in the task's format, and varied") {
  random_generator random(77);
  for (const task_kind task : all_tasks()) {
    CAPTURE(task_name(task));
    for (int instance = 0; instance < 200; ++instance) {
      const task_example example = make_example(task, random);
      CAPTURE(example.prompt);
      std::set<std::string> wrong_answers;
      for (int draw = 0; draw < 20; ++draw) {
        const std::string wrong = corrupt_answer(example, random);
        CAPTURE(wrong);
        CHECK(wrong != example.answer);
        CHECK(!is_correct(example, wrong));
        CHECK(wrong.size() <= std::size_t(max_answer_length));
        switch (task) {
          case task_kind::addition:
          case task_kind::subtraction:
            CHECK(canonical_number(wrong));
            break;
          case task_kind::counting:
            CHECK(canonical_number(wrong));
            CHECK(std::stoi(wrong) <= std::max<int>(int(example.prompt.size()) - 5, std::stoi(example.answer) + 1));
            break;
          case task_kind::sorting:
            CHECK(digits_only(wrong));
            CHECK(wrong.size() == example.answer.size());
            break;
          case task_kind::reversal:
            CHECK(letters_only(wrong));
            CHECK(wrong.size() == example.answer.size());
            break;
        }
        wrong_answers.insert(wrong);
      }
      CHECK(wrong_answers.size() >= 2);
    }
  }
}

TEST_CASE("corrupt_answer: corner cases (zero, all-equal characters, palindromes) and malformed answers") {
  random_generator random(5);
  const std::vector<task_example> corners = {{task_kind::subtraction, "5-5=", "0"},
                                             {task_kind::addition, "0+0=", "0"},
                                             {task_kind::counting, "c:a:bbbb=", "0"},
                                             {task_kind::counting, "c:a:aaaaaaaa=", "8"},
                                             {task_kind::sorting, "s:0000=", "0000"},
                                             {task_kind::reversal, "r:aaa=", "aaa"},
                                             {task_kind::reversal, "r:abcba=", "abcba"}};
  for (const task_example& example : corners) {
    CAPTURE(example.prompt);
    std::map<std::string, int> seen;
    for (int draw = 0; draw < 300; ++draw) {
      const std::string wrong = corrupt_answer(example, random);
      CHECK(wrong != example.answer);
      CHECK(wrong.find('-') == std::string::npos);
      ++seen[wrong];
    }
    CHECK(seen.size() >= 2);
  }
  // Off-by-one answers of an addition: 132 ± 1 appear among the corruptions, and a carry slip (± 10).
  std::set<std::string> wrong_sums;
  const task_example sum{task_kind::addition, "47+85=", "132"};
  for (int draw = 0; draw < 400; ++draw) wrong_sums.insert(corrupt_answer(sum, random));
  for (const char* expected : {"131", "133", "122", "142"}) CHECK(wrong_sums.count(expected) == 1);
  // Reversal: the letters copied unreversed is one of the corruptions.
  std::set<std::string> wrong_reversals;
  const task_example reversal{task_kind::reversal, "r:mamba=", "abmam"};
  for (int draw = 0; draw < 400; ++draw) wrong_reversals.insert(corrupt_answer(reversal, random));
  CHECK(wrong_reversals.count("mamba") == 1);

  CHECK_THROWS_WITH_AS(corrupt_answer({task_kind::addition, "1+1=", ""}, random),
                       doctest::Contains("example.answer = \"\""), rescan::value_error);
  CHECK_THROWS_WITH_AS(corrupt_answer({task_kind::subtraction, "9-1=", "08"}, random),
                       doctest::Contains("example.answer = \"08\""), rescan::value_error);
  CHECK_THROWS_WITH_AS(corrupt_answer({task_kind::reversal, "r:ab1=", "1ba"}, random),
                       doctest::Contains("example.answer = \"1ba\""), rescan::value_error);
}

TEST_CASE("make_task_data: sizes, balance, right answers, disjoint pools, deterministic per seed") {
  data_sizes sizes;
  sizes.pretrain = 300;
  sizes.seed = 20;
  sizes.unlabeled = 30;
  sizes.iterations = 3;
  sizes.test = 40;
  const task_data data = make_task_data(sizes, 11);
  check_pool(data.pretrain, sizes.pretrain);
  check_pool(data.seed, sizes.seed);
  check_pool(data.test, sizes.test);
  REQUIRE(data.unlabeled.size() == 3);
  for (const std::vector<task_example>& slice : data.unlabeled) check_pool(slice, sizes.unlabeled);

  // Pairwise disjoint and free of repeats: all prompts of all pools are distinct.
  std::vector<std::vector<std::string>> pools = {prompts_of(data.test), prompts_of(data.seed),
                                                 prompts_of(data.pretrain)};
  for (const std::vector<task_example>& slice : data.unlabeled) pools.push_back(prompts_of(slice));
  std::set<std::string> all_prompts;
  std::size_t total = 0;
  for (std::size_t p = 0; p < pools.size(); ++p) {
    const std::set<std::string> own(pools[p].begin(), pools[p].end());
    CHECK(own.size() == pools[p].size());
    for (std::size_t q = p + 1; q < pools.size(); ++q) {
      for (const std::string& prompt : pools[q]) CHECK(own.count(prompt) == 0);
    }
    all_prompts.insert(own.begin(), own.end());
    total += pools[p].size();
  }
  CHECK(all_prompts.size() == total);
  CHECK(total == std::size_t(task_count * (300 + 20 + 3 * 30 + 40)));

  CHECK(equal_data(make_task_data(sizes, 11), data));
  const task_data other = make_task_data(sizes, 12);
  CHECK(other.test != data.test);
  CHECK(other.pretrain != data.pretrain);

  // The test set is drawn first: other sizes of the later pools leave it as it is.
  data_sizes more = sizes;
  more.pretrain = 500;
  more.iterations = 1;
  CHECK(make_task_data(more, 11).test == data.test);

  // Empty pools are allowed.
  const task_data empty = make_task_data(data_sizes{0, 0, 0, 0, 0}, 3);
  CHECK(empty.pretrain.empty());
  CHECK(empty.unlabeled.empty());
}

TEST_CASE("make_task_data: the default sizes fill disjoint pools") {
  const data_sizes sizes;
  const task_data data = make_task_data(sizes, 2024);
  CHECK(data.pretrain.size() == 5 * 3000);
  CHECK(data.seed.size() == 5 * 100);
  CHECK(data.test.size() == 5 * 200);
  REQUIRE(data.unlabeled.size() == 2);
  std::set<std::string> prompts;
  for (const std::vector<task_example>* pool : {&data.pretrain, &data.seed, &data.test, &data.unlabeled[0],
                                                &data.unlabeled[1]}) {
    CHECK(pool->size() == std::size_t(5 * (pool == &data.pretrain ? 3000 : pool == &data.seed ? 100 : 200)));
    for (const task_example& example : *pool) {
      prompts.insert(example.prompt);
      CHECK(example.answer == oracle_answer(example));
    }
  }
  CHECK(prompts.size() == std::size_t(5 * (3000 + 100 + 2 * 200 + 200)));
}

TEST_CASE("make_task_data: negative sizes and more prompts than a task has throw, naming the field or pool and task") {
  data_sizes negative;
  negative.seed = -1;
  CHECK_THROWS_WITH_AS(make_task_data(negative, 1), doctest::Contains("sizes.seed = -1"), rescan::value_error);
  negative = data_sizes{};
  negative.iterations = -2;
  CHECK_THROWS_WITH_AS(make_task_data(negative, 1), doctest::Contains("sizes.iterations = -2"), rescan::value_error);

  // sub has 5 050 prompts, the fewest: a test pool of 5 051 cannot be filled.
  data_sizes too_many{0, 0, 0, 0, 5051};
  CHECK_THROWS_WITH_AS(make_task_data(too_many, 1), doctest::Contains("the test pool needs 5051 prompts of task sub"),
                       rescan::value_error);
  // Each pool fits alone, but not after the ones before it.
  too_many = data_sizes{0, 3000, 0, 0, 3000};
  CHECK_THROWS_WITH_AS(make_task_data(too_many, 1),
                       doctest::Contains("the seed pool needs 3000 prompts of task sub but only 2050"),
                       rescan::value_error);
  too_many = data_sizes{0, 0, 2000, 3, 0};
  CHECK_THROWS_WITH_AS(make_task_data(too_many, 1),
                       doctest::Contains("the unlabeled[2] pool needs 2000 prompts of task sub"),
                       rescan::value_error);
  too_many = data_sizes{6000, 0, 0, 0, 0};
  CHECK_THROWS_WITH_AS(make_task_data(too_many, 1), doctest::Contains("pretrain pool needs 6000 prompts of task sub"),
                       rescan::value_error);
}

}  // namespace rescan_examples::testing
