// The five generated tasks of the CREAM example, standing in for the paper's five benchmarks. Each
// example is a prompt that ends with '=' and a short exact answer; the language model sees
// "bos prompt answer eos" (at most 24 tokens) and a response is right only when it equals the answer.
//
//   task         prompt          answer   how an instance is drawn
//   add          "47+85="        "132"    a, b uniform in [0, 99]; answer a + b
//   sub          "85-47="        "38"     a, b uniform in [0, 99], the larger first; answer a − b >= 0
//   sort         "s:50713="      "01357"  length uniform in [4, 7], digits uniform; answer ascending
//   reverse      "r:mamba="      "abmam"  length uniform in [3, 6], letters uniform in 'a'..'z'
//   count        "c:a:abcab="    "2"      target uniform in 'a'..'e', length uniform in [4, 8],
//                                         letters uniform in 'a'..'e'; answer the target's count
//
// Distinct prompts per task (the prompt spaces): add 100² = 10 000, sub 100·101/2 = 5 050,
// sort Σ_{L=4..7} 10^L = 11 110 000, reverse Σ_{L=3..6} 26^L = 321 271 704,
// count 5 · Σ_{L=4..8} 5^L = 2 440 625. The prompts' prefixes ("+", "-", "s:", "r:", "c:") keep the
// tasks' prompts apart.
//
// A run's data (make_task_data) is drawn from one seed: per task, the test pool first, then the seed
// set, the unlabeled slices and the "pretraining" corpus, each prompt new to all pools drawn before it
// (rejection of repeats), so no pool shares a prompt with another and none repeats one. Each task draws
// from its own stream (random_generator::fork), so a pool depends only on the seed and the sizes of
// the pools drawn before it: for one seed, the test set stays the same whatever the seed-set,
// unlabeled, iteration and pretrain sizes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/nn/index.hpp"
#include "common/nn/random.hpp"
#include "tokenizer.hpp"

namespace rescan_examples {

enum class task_kind { addition, subtraction, sorting, reversal, counting };
inline constexpr index_t task_count = 5;

// The longest answer and the longest tokenized sequence "bos prompt answer eos" of any task.
inline constexpr index_t max_answer_length = 8;
inline constexpr index_t max_sequence_length = 24;

// addition, subtraction, sorting, reversal, counting.
const std::array<task_kind, 5>& all_tasks();

// The task's place in all_tasks(), in [0, task_count); throws value_error on a value outside the enum.
index_t task_index(task_kind task);

// "add", "sub", "sort", "reverse", "count".
const char* task_name(task_kind task);

// The task named by task_name; throws value_error naming the name and the choices otherwise.
task_kind task_named(const std::string& name);

struct task_example {
  task_kind task;
  std::string prompt, answer;
};

bool operator==(const task_example& left, const task_example& right);
bool operator!=(const task_example& left, const task_example& right);

// A random instance of task (distributions in the table above).
task_example make_example(task_kind task, random_generator& random);

// response == example.answer, character for character.
bool is_correct(const task_example& example, const std::string& response);

// A wrong answer in the task's format, for the "pretraining" corpus whose answers are often wrong:
// never equal to example.answer, and plausible:
//   add, sub: off by one, off by a power of ten (a carry or borrow slip) or one digit changed; a
//             non-negative number without leading zeros.
//   sort:     two different digits swapped, or one digit changed; same length.
//   reverse:  two different letters swapped, one letter changed, or the letters copied unreversed;
//             same length.
//   count:    off by one, or another count in [0, the string's length].
std::string corrupt_answer(const task_example& example, random_generator& random);

// Number of distinct prompts make_example can draw for task (the prompt spaces above).
index_t prompt_space_size(task_kind task);

// The data of one run. Every pool has `per_task` examples of each task interleaved so the tasks are
// balanced (sizes below are per task). Prompts are unique within and across pools: test prompts never
// appear in any other pool, seed prompts never in the unlabeled slices, the unlabeled slices are
// disjoint from each other.
struct data_sizes {
  index_t pretrain = 3000;  // "pretraining" corpus for M0 (answers corrupted later by the trainer)
  index_t seed = 100;       // the small correct seed set for SFT (M1)
  index_t unlabeled = 200;  // per CREAM iteration: prompts only (answers kept but unused for training)
  index_t iterations = 2;   // number of unlabeled slices
  index_t test = 200;       // held-out test set, >= 200 in the full run
};

struct task_data {
  std::vector<task_example> pretrain, seed, test;
  std::vector<std::vector<task_example>> unlabeled;  // one slice per iteration
};

// Pools of task_count · size examples; example i of a pool is of task all_tasks()[i % task_count].
// Deterministic given (sizes, seed) on every platform. Throws value_error naming the field when a size
// is negative, and naming the pool and the task when a task has too few distinct prompts to fill the
// pools disjointly (more prompts asked than its prompt space holds, or repeats rejected so often that
// the space is nearly used up).
task_data make_task_data(const data_sizes& sizes, std::uint64_t seed);

}  // namespace rescan_examples
