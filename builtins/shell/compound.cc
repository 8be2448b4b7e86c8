// Compound commands for the shell grammar: if, while/until, for/select,
// case, function definitions and [[ ]]. Subshells, groups and (( )) are in
// parser.cc's ParseCommand. Each reports the simple commands inside it; the
// construct itself is not a command.
#include <cstring>

#include "builtins/shell/parser.h"

namespace reins::shell::internal {

void Parser::ParseIf(Commands* out) {
  size_t start = Take().offset;
  ParseList(out, kStopThen);
  if (!Expect("then", "if", start, out)) return;
  ParseList(out, kStopElif | kStopElse | kStopFi);
  while (PeekPlain("elif")) {
    Take();
    ParseList(out, kStopThen);
    if (!Expect("then", "elif", start, out)) return;
    ParseList(out, kStopElif | kStopElse | kStopFi);
  }
  if (PeekPlain("else")) {
    Take();
    ParseList(out, kStopFi);
  }
  Expect("fi", "if", start, out);
}

void Parser::ParseLoop(Commands* out) {
  Token kw = Take();
  ParseList(out, kStopDo);
  if (!Expect("do", kw.word.value, kw.offset, out)) return;
  ParseList(out, kStopDone);
  Expect("done", kw.word.value, kw.offset, out);
}

void Parser::ParseFor(Commands* out) {
  Token kw = Take();
  const Token& t = Peek();
  if (t.kind == TokenKind::kOp && t.op == "(" && At(t.offset + 1) == '(') {
    size_t open = t.offset;  // for (( init; test; step ))
    la_.reset();
    Word w;
    if (!TryArithmetic(&w, open, open + 2)) {
      Error(open, "malformed 'for ((' expression");
      return;  // what follows is parsed as commands: more is reported, not less
    }
    for (SimpleCommand& c : w.nested) out->push_back(std::move(c));
  } else if (t.kind == TokenKind::kWord) {
    Take();  // the variable name
    SkipNewlines(out);
    if (PeekPlain("in")) {
      Take();
      while (Peek().kind == TokenKind::kWord) Consume(out);
    }
  } else {
    Error(t.offset, "expected a name after '" + kw.word.value + "', found " + Describe(t));
    return;
  }
  if (Peek().kind == TokenKind::kOp && Peek().op == ";") Take();
  SkipNewlines(out);
  if (PeekPlain("{")) {  // bash also accepts a group as the body
    Take();
    ParseList(out, kStopBrace);
    Expect("}", kw.word.value, kw.offset, out);
    return;
  }
  if (!Expect("do", kw.word.value, kw.offset, out)) return;
  ParseList(out, kStopDone);
  Expect("done", kw.word.value, kw.offset, out);
}

void Parser::ParseCase(Commands* out) {
  size_t start = Take().offset;
  if (Peek().kind != TokenKind::kWord) {
    Error(Peek().offset, "expected a word after 'case', found " + Describe(Peek()));
    return;
  }
  Consume(out);
  if (!Expect("in", "case", start, out)) return;
  for (;;) {
    SkipNewlines(out);
    if (PeekPlain("esac")) {
      Take();
      return;
    }
    if (Peek().kind == TokenKind::kEnd) {
      Error(start, "unterminated 'case' (no 'esac')");
      return;
    }
    // A pattern is never an assignment: after '(' and '|' no NAME[...]
    // subscript is read (the next token is not lexed before Take() returns).
    if (Peek().kind == TokenKind::kOp && Peek().op == "(") {
      Take();
      command_position_ = false;
    }
    // PATTERN [| PATTERN]... )
    bool ok = false;
    while (Peek().kind == TokenKind::kWord) {
      Consume(out);
      if (Peek().kind == TokenKind::kOp && Peek().op == "|") {
        Take();
        command_position_ = false;
        continue;
      }
      ok = Peek().kind == TokenKind::kOp && Peek().op == ")";
      break;
    }
    if (!ok) {
      Error(Peek().offset, "expected a case pattern and ')', found " + Describe(Peek()));
      if (Peek().kind != TokenKind::kEnd) Consume(out);
      continue;
    }
    Take();  // ')'
    ParseList(out, kStopEsac | kStopCaseEnd);
    const Token& end = Peek();
    if (end.kind == TokenKind::kOp && (end.op == ";;" || end.op == ";&" || end.op == ";;&")) {
      Take();
    }
  }
}

// function NAME [()] BODY, and NAME () BODY from ParseSimple. The body's
// commands are reported as if they ran: the function may be called later.
void Parser::ParseFunction(Commands* out) {
  Token kw = Take();
  if (Peek().kind != TokenKind::kWord) {
    Error(kw.offset, "expected a function name after 'function', found " + Describe(Peek()));
    return;
  }
  Take();
  if (Peek().kind == TokenKind::kOp && Peek().op == "(") {
    Take();
    if (Peek().kind != TokenKind::kOp || Peek().op != ")") {
      Error(Peek().offset, "expected ')' in function definition, found " + Describe(Peek()));
      return;
    }
    Take();
  }
  SkipNewlines(out);
  if (!StartsCommand(Peek())) {
    Error(kw.offset, "function definition without a body");
    return;
  }
  ParseCommand(out, {});
}

// [[ expression ]]: a test evaluated by the shell, not a program. It is not
// reported; the substitutions in its words are. Inside, < > ( ) && || are
// part of the expression, so it is read with its own small scanner.
void Parser::ParseTest(Commands* out) {
  size_t start = Take().offset;
  for (;;) {
    SkipBlanks();
    if (ctx_->aborted) return;
    if (pos_ >= src_.size()) {
      Error(start, "unterminated '[[' (no ']]')");
      return;
    }
    char c = src_[pos_];
    if (src_.substr(pos_, 2) == "]]" &&
        (pos_ + 2 >= src_.size() || std::strchr(" \t\n;&|)<>", At(pos_ + 2)))) {
      pos_ += 2;
      break;
    }
    if (std::strchr("\n<>()!&|;", c) != nullptr) {
      ++pos_;
      continue;
    }
    Word w = ReadWord();
    for (SimpleCommand& cmd : w.nested) out->push_back(std::move(cmd));
  }
}

}  // namespace reins::shell::internal
