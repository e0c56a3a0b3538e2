#include "tasks.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <string>
#include <unordered_set>
#include <utility>

namespace rescan_examples {

namespace {

constexpr std::array<task_kind, 5> task_order = {task_kind::addition, task_kind::subtraction, task_kind::sorting,
                                                 task_kind::reversal, task_kind::counting};
constexpr std::array<const char*, 5> task_names = {"add", "sub", "sort", "reverse", "count"};

// Operands of add and sub: [0, operand_limit).
constexpr index_t operand_limit = 100;
// Lengths of the sort, reverse and count strings: [shortest, longest].
constexpr index_t sort_shortest = 4, sort_longest = 7;
constexpr index_t reverse_shortest = 3, reverse_longest = 6;
constexpr index_t count_shortest = 4, count_longest = 8;
// Letters of the count task: the first count_letters of 'a'..'z'.
constexpr index_t count_letters = 5;

// Uniform integer in [lo, hi].
index_t between(random_generator& random, index_t lo, index_t hi) { return lo + random.below(hi - lo + 1); }

char random_digit(random_generator& random) { return char('0' + random.below(10)); }

bool is_digit(char character) { return character >= '0' && character <= '9'; }
bool is_lowercase(char character) { return character >= 'a' && character <= 'z'; }

bool all_digits(const std::string& text) { return std::all_of(text.begin(), text.end(), is_digit); }
bool all_lowercase(const std::string& text) { return std::all_of(text.begin(), text.end(), is_lowercase); }

// Σ_{L = shortest..longest} base^L.
index_t strings_of_lengths(index_t base, index_t shortest, index_t longest) {
  index_t total = 0, power = 1;
  for (index_t length = 0; length <= longest; ++length) {
    if (length >= shortest) total += power;
    power *= base;
  }
  return total;
}

// The answer of a numeric task as a number; the answer must be a canonical non-negative number
// (digits, no leading zero unless it is "0", at most max_answer_length digits).
index_t parse_number_answer(const task_example& example) {
  const std::string& answer = example.answer;
  if (answer.empty() || answer.size() > std::size_t(max_answer_length) || !all_digits(answer) ||
      (answer.size() > 1 && answer[0] == '0')) {
    detail::fail("corrupt_answer: example.answer = \"", answer, "\" of task ", task_name(example.task),
                 " but it must be a number of 1 to ", max_answer_length, " digits without leading zeros");
  }
  index_t value = 0;
  for (const char digit : answer) value = 10 * value + (digit - '0');
  return value;
}

// add, sub: off by one, off by a power of ten no larger than the answer's leading place, or one digit
// replaced (never a leading zero).
std::string corrupt_number(const task_example& example, random_generator& random) {
  const index_t value = parse_number_answer(example);
  const index_t digits = index_t(example.answer.size());
  for (;;) {
    index_t wrong = value;
    const index_t mode = random.below(3);
    if (mode == 0) {
      wrong = value + (random.below(2) == 0 ? 1 : -1);
    } else if (mode == 1) {
      index_t power = 1;
      for (index_t place = random.below(digits); place > 0; --place) power *= 10;
      wrong = value + (random.below(2) == 0 ? power : -power);
    } else {
      std::string changed = example.answer;
      const index_t position = random.below(digits);
      const char digit = random_digit(random);
      if (position == 0 && digits > 1 && digit == '0') continue;
      changed[std::size_t(position)] = digit;
      wrong = 0;
      for (const char character : changed) wrong = 10 * wrong + (character - '0');
    }
    if (wrong >= 0 && wrong != value) return std::to_string(wrong);
  }
}

// count: off by one, or another count in [0, max(the string's length, answer + 1)].
std::string corrupt_count(const task_example& example, random_generator& random) {
  const index_t value = parse_number_answer(example);
  // "c:x:" + letters + "=".
  const index_t letters = example.prompt.size() >= 5 ? index_t(example.prompt.size()) - 5 : 0;
  const index_t largest = std::max(letters, value + 1);
  for (;;) {
    const index_t wrong =
        random.below(2) == 0 ? value + (random.below(2) == 0 ? 1 : -1) : random.below(largest + 1);
    if (wrong >= 0 && wrong != value) return std::to_string(wrong);
  }
}

// Whether some two neighbouring characters differ (so swapping them changes the text).
bool has_different_neighbours(const std::string& text) {
  return std::adjacent_find(text.begin(), text.end(), std::not_equal_to<char>()) != text.end();
}

// sort, reverse: two different neighbours swapped, or one character replaced by another of the
// same class; reverse also: the letters copied in the prompt's order.
std::string corrupt_characters(const task_example& example, random_generator& random) {
  const bool digits = example.task == task_kind::sorting;
  const std::string& answer = example.answer;
  if (answer.empty() || answer.size() > std::size_t(max_answer_length) ||
      !(digits ? all_digits(answer) : all_lowercase(answer))) {
    detail::fail("corrupt_answer: example.answer = \"", answer, "\" of task ", task_name(example.task),
                 " but it must be 1 to ", max_answer_length, digits ? " digits" : " lowercase letters");
  }
  const index_t length = index_t(answer.size());
  for (;;) {
    std::string wrong = answer;
    const index_t mode = random.below(digits ? 2 : 3);
    if (mode == 0) {
      if (!has_different_neighbours(answer)) continue;
      const index_t position = random.below(length - 1);
      std::swap(wrong[std::size_t(position)], wrong[std::size_t(position + 1)]);
    } else if (mode == 1) {
      const index_t position = random.below(length);
      wrong[std::size_t(position)] = digits ? random_digit(random) : char('a' + random.below(26));
    } else {
      std::reverse(wrong.begin(), wrong.end());
    }
    if (wrong != answer) return wrong;
  }
}

// One pool of make_task_data: its name in messages, where it goes and its size per task.
struct pool_request {
  std::string name;
  std::vector<task_example>* examples;
  index_t per_task;
};

}  // namespace

const std::array<task_kind, 5>& all_tasks() { return task_order; }

index_t task_index(task_kind task) {
  const auto value = static_cast<int>(task);
  if (value < 0 || value >= int(task_count)) {
    detail::fail("task_index: task = ", value, " but it must be a task_kind in [0, ", task_count, ")");
  }
  return index_t(value);
}

const char* task_name(task_kind task) {
  const auto value = static_cast<int>(task);
  if (value < 0 || value >= int(task_count)) {
    detail::fail("task_name: task = ", value, " but it must be a task_kind in [0, ", task_count, ")");
  }
  return task_names[std::size_t(value)];
}

task_kind task_named(const std::string& name) {
  for (const task_kind task : task_order) {
    if (name == task_name(task)) return task;
  }
  detail::fail("task_named: name = \"", name, "\" but it must be one of add, sub, sort, reverse, count");
}

bool operator==(const task_example& left, const task_example& right) {
  return left.task == right.task && left.prompt == right.prompt && left.answer == right.answer;
}

bool operator!=(const task_example& left, const task_example& right) { return !(left == right); }

task_example make_example(task_kind task, random_generator& random) {
  task_example example{task, {}, {}};
  switch (task) {
    case task_kind::addition: {
      const index_t left = random.below(operand_limit), right = random.below(operand_limit);
      example.prompt = std::to_string(left) + "+" + std::to_string(right) + "=";
      example.answer = std::to_string(left + right);
      break;
    }
    case task_kind::subtraction: {
      index_t larger = random.below(operand_limit), smaller = random.below(operand_limit);
      if (larger < smaller) std::swap(larger, smaller);
      example.prompt = std::to_string(larger) + "-" + std::to_string(smaller) + "=";
      example.answer = std::to_string(larger - smaller);
      break;
    }
    case task_kind::sorting: {
      std::string digits(std::size_t(between(random, sort_shortest, sort_longest)), '0');
      for (char& digit : digits) digit = random_digit(random);
      example.prompt = "s:" + digits + "=";
      std::sort(digits.begin(), digits.end());
      example.answer = digits;
      break;
    }
    case task_kind::reversal: {
      std::string letters(std::size_t(between(random, reverse_shortest, reverse_longest)), 'a');
      for (char& letter : letters) letter = char('a' + random.below(26));
      example.prompt = "r:" + letters + "=";
      example.answer.assign(letters.rbegin(), letters.rend());
      break;
    }
    case task_kind::counting: {
      const char target = char('a' + random.below(count_letters));
      std::string letters(std::size_t(between(random, count_shortest, count_longest)), 'a');
      for (char& letter : letters) letter = char('a' + random.below(count_letters));
      example.prompt = std::string("c:") + target + ":" + letters + "=";
      example.answer = std::to_string(std::count(letters.begin(), letters.end(), target));
      break;
    }
    default:
      detail::fail("make_example: task = ", static_cast<int>(task), " but it must be a task_kind in [0, ",
                   task_count, ")");
  }
  return example;
}

bool is_correct(const task_example& example, const std::string& response) { return response == example.answer; }

std::string corrupt_answer(const task_example& example, random_generator& random) {
  switch (example.task) {
    case task_kind::addition:
    case task_kind::subtraction:
      return corrupt_number(example, random);
    case task_kind::counting:
      return corrupt_count(example, random);
    case task_kind::sorting:
    case task_kind::reversal:
      return corrupt_characters(example, random);
  }
  detail::fail("corrupt_answer: example.task = ", static_cast<int>(example.task),
               " but it must be a task_kind in [0, ", task_count, ")");
}

index_t prompt_space_size(task_kind task) {
  switch (task) {
    case task_kind::addition:
      return operand_limit * operand_limit;
    case task_kind::subtraction:
      return operand_limit * (operand_limit + 1) / 2;
    case task_kind::sorting:
      return strings_of_lengths(10, sort_shortest, sort_longest);
    case task_kind::reversal:
      return strings_of_lengths(26, reverse_shortest, reverse_longest);
    case task_kind::counting:
      return count_letters * strings_of_lengths(count_letters, count_shortest, count_longest);
  }
  detail::fail("prompt_space_size: task = ", static_cast<int>(task), " but it must be a task_kind in [0, ",
               task_count, ")");
}

task_data make_task_data(const data_sizes& sizes, std::uint64_t seed) {
  const char* const function = "make_task_data";
  detail::check_at_least(function, "sizes.pretrain", sizes.pretrain, 0);
  detail::check_at_least(function, "sizes.seed", sizes.seed, 0);
  detail::check_at_least(function, "sizes.unlabeled", sizes.unlabeled, 0);
  detail::check_at_least(function, "sizes.iterations", sizes.iterations, 0);
  detail::check_at_least(function, "sizes.test", sizes.test, 0);

  task_data data;
  data.unlabeled.resize(std::size_t(sizes.iterations));
  // In drawing order: each pool avoids every prompt of the pools before it.
  std::vector<pool_request> requests = {{"test", &data.test, sizes.test}, {"seed", &data.seed, sizes.seed}};
  for (index_t slice = 0; slice < sizes.iterations; ++slice) {
    requests.push_back({"unlabeled[" + std::to_string(slice) + "]", &data.unlabeled[std::size_t(slice)],
                        sizes.unlabeled});
  }
  requests.push_back({"pretrain", &data.pretrain, sizes.pretrain});

  // Enough distinct prompts for every pool? (used + per_task <= space, written so it cannot overflow)
  for (const task_kind task : task_order) {
    const index_t space = prompt_space_size(task);
    index_t used = 0;
    for (const pool_request& request : requests) {
      if (request.per_task > space - used) {
        detail::fail(function, ": the ", request.name, " pool needs ", request.per_task, " prompts of task ",
                     task_name(task), " but only ", space - used, " of its ", space,
                     " distinct prompts are left after the pools before it");
      }
      used += request.per_task;
    }
  }
  for (const pool_request& request : requests) request.examples->resize(std::size_t(task_count * request.per_task));

  const random_generator root(seed);
  for (const task_kind task : task_order) {
    const index_t place = task_index(task);
    random_generator random = root.fork(std::uint64_t(place));
    std::unordered_set<std::string> used_prompts;
    for (const pool_request& request : requests) {
      // Repeats are rejected; this many of them means the space is too nearly used up to go on.
      const index_t rejection_limit = 1000 + 20 * request.per_task;
      index_t rejections = 0;
      for (index_t drawn = 0; drawn < request.per_task;) {
        task_example example = make_example(task, random);
        if (!used_prompts.insert(example.prompt).second) {
          if (++rejections > rejection_limit) {
            detail::fail(function, ": the ", request.name, " pool of task ", task_name(task), " drew ", rejections,
                         " repeated prompts while looking for ", request.per_task, " new ones; its ",
                         prompt_space_size(task), " distinct prompts are too nearly used up by ",
                         used_prompts.size(), " drawn ones");
          }
          continue;
        }
        (*request.examples)[std::size_t(drawn * task_count + place)] = std::move(example);
        ++drawn;
      }
    }
  }
  return data;
}

}  // namespace rescan_examples
