// The little of the SQLite C API the history store uses, with ownership:
// a failed call throws SqliteError, which the store catches at its API
// boundary (nothing throws past it), so each operation reads as the SQL it
// runs rather than as a ladder of return-code checks.
#ifndef MEMPROXYD_HEAPWATCH_SQLITE_STATEMENT_HPP
#define MEMPROXYD_HEAPWATCH_SQLITE_STATEMENT_HPP

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace memproxy::heapwatch::sqlite {

class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }  // extended result code
  // The file is damaged or not a database at all: the store moves it aside.
  bool corruption() const { return (code_ & 0xff) == SQLITE_CORRUPT || (code_ & 0xff) == SQLITE_NOTADB; }

 private:
  int code_;
};

// Throws SqliteError for `rc` unless it is one of the success codes.
void check(sqlite3* db, int rc, const char* what);

// Runs SQL without results (several statements allowed).
void execute(sqlite3* db, const char* sql);

// A prepared statement, reset and cleared of bindings before each use.
class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, const char* sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool prepared() const { return stmt_ != nullptr; }
  // Starts a new execution: resets the statement and clears its bindings.
  Statement& start();
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, const std::string& value);
  // True while there is a row; false when done.
  bool step();
  // Runs to completion, for statements without results.
  void run();

  int64_t integer(int column) const;
  std::string text(int column) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace memproxy::heapwatch::sqlite

#endif
