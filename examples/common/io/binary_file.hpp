// Whole-file reads and crash-safe writes. A write goes to a temporary file next to the target,
// is flushed and fsync'ed, then renamed over the target, so a reader (or a restart after a crash)
// sees either the old content or the new one, never a half-written file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rescan_examples {

// The whole content of the file at path, as bytes. Throws file_error when it is missing or cannot
// be read.
std::vector<std::uint8_t> read_file(const std::string& path);

// Replaces (or creates) the file at path with bytes [data, data + bytes). Throws file_error when the
// directory is missing or not writable, or a write, fsync or rename fails; the temporary file is
// removed then and the old file at path is left as it was.
void write_file_atomically(const std::string& path, const void* data, std::size_t bytes);

// The same with the characters of text.
void write_text_atomically(const std::string& path, const std::string& text);

}  // namespace rescan_examples
