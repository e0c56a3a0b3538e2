// The CREAM example's character-level tokenizer. Its vocabulary is a fixed table built at compile
// time: id 0 = pad (fills a batch's short rows), 1 = bos (start of a sequence), 2 = eos (end of a
// response), then one id per character of the alphabet
//
//   ' ', '0'..'9', 'a'..'z', '+', '-', '=', ':', '?'
//
// in that order, so id = 3 + (the character's place in the alphabet) and the vocabulary has
// 3 + 42 = 45 ids. A task's sequence is "bos prompt answer eos", one id per character.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/nn/checks.hpp"
#include "common/nn/index.hpp"

namespace rescan_examples {

namespace detail {

// The characters in id order; id of alphabet[i] = 3 + i.
inline constexpr std::string_view cream_alphabet = " 0123456789abcdefghijklmnopqrstuvwxyz+-=:?";
inline constexpr std::int32_t cream_first_character_id = 3;

// Byte value -> id, -1 for a byte that is not in the alphabet.
constexpr std::array<std::int32_t, 256> make_cream_character_ids() {
  std::array<std::int32_t, 256> ids{};
  for (std::size_t byte = 0; byte < ids.size(); ++byte) ids[byte] = -1;
  for (std::size_t place = 0; place < cream_alphabet.size(); ++place) {
    ids[static_cast<unsigned char>(cream_alphabet[place])] = cream_first_character_id + std::int32_t(place);
  }
  return ids;
}

inline constexpr std::array<std::int32_t, 256> cream_character_ids = make_cream_character_ids();

}  // namespace detail

class char_tokenizer {
 public:
  static constexpr std::int32_t pad = 0, bos = 1, eos = 2;
  static constexpr std::int32_t first_character = detail::cream_first_character_id;  // id of ' '

  // The characters, in id order from first_character.
  static constexpr std::string_view alphabet() { return detail::cream_alphabet; }

  // 3 special ids + 42 characters = 45.
  constexpr index_t vocabulary_size() const { return first_character + index_t(alphabet().size()); }

  // id of character, or -1 when the character is not in the alphabet.
  constexpr std::int32_t id_of(char character) const {
    return detail::cream_character_ids[static_cast<unsigned char>(character)];
  }

  // Whether id stands for a character (not pad, bos, eos, nor outside [0, vocabulary_size())).
  constexpr bool is_character(std::int32_t id) const { return id >= first_character && id < vocabulary_size(); }

  // The character of a character id; '\0' for any id that is not one (see is_character).
  constexpr char character_of(std::int32_t id) const {
    return is_character(id) ? alphabet()[std::size_t(id - first_character)] : '\0';
  }

  // text (n characters) -> n ids. Throws rescan::value_error naming the character (itself when
  // printable, else its code) and its position when a character is not in the alphabet.
  std::vector<std::int32_t> encode(const std::string& text) const {
    std::vector<std::int32_t> ids(text.size());
    for (std::size_t position = 0; position < text.size(); ++position) {
      const char character = text[position];
      const std::int32_t id = id_of(character);
      if (id < 0) {
        const int code = static_cast<unsigned char>(character);
        if (code >= 32 && code <= 126) {
          detail::fail("char_tokenizer::encode: the character '", character, "' at position ", position,
                       " is not in the alphabet \"", alphabet(), "\"");
        }
        detail::fail("char_tokenizer::encode: the character with code ", code, " at position ", position,
                     " is not in the alphabet \"", alphabet(), "\"");
      }
      ids[position] = id;
    }
    return ids;
  }

  // ids[0, count) -> count characters. pad, bos and eos are not characters: throws
  // rescan::value_error naming the position on them and on ids outside [0, vocabulary_size()).
  std::string decode(const std::int32_t* ids, index_t count) const {
    detail::check_at_least("char_tokenizer::decode", "count", count, 0);
    if (count > 0) detail::check_given("char_tokenizer::decode", "ids", ids);
    std::string text(static_cast<std::size_t>(count), '\0');
    for (index_t position = 0; position < count; ++position) {
      const std::int32_t id = ids[position];
      if (id == pad || id == bos || id == eos) {
        detail::fail("char_tokenizer::decode: the id ", id, " (", special_name(id), ") at position ", position,
                     " is not a character");
      }
      if (!is_character(id)) {
        detail::fail("char_tokenizer::decode: the id ", id, " at position ", position, " is outside [0, ",
                     vocabulary_size(), ")");
      }
      text[std::size_t(position)] = character_of(id);
    }
    return text;
  }

  std::string decode(const std::vector<std::int32_t>& ids) const { return decode(ids.data(), index_t(ids.size())); }

 private:
  static constexpr const char* special_name(std::int32_t id) {
    return id == pad ? "pad" : id == bos ? "bos" : id == eos ? "eos" : "not special";
  }
};

}  // namespace rescan_examples
