//! The module boundaries of ARCHITECTURE.md, checked over the files under `src/`: only the store
//! uses redb; the clients know nothing of the store or the flows; the store knows nothing of the
//! flows or the API; the flows know nothing of the API; the simulators import only themselves;
//! no source file is over 1,000 lines.
//!
//! Each rule is a function from one source file to its violations, written `file:line: rule`.
//! Lines starting with `//` and the comment at the end of a line are not looked at.

use std::path::Path;

/// The hard size limit for a file in `src/`.
const MAX_LINES: usize = 1000;

/// One file under `src/`: its path relative to the package root (`src/store/mod.rs`) and text.
struct SourceFile {
    path: String,
    text: String,
}

type Rule = fn(&SourceFile) -> Vec<String>;

const RULES: &[Rule] = &[
    redb_only_in_store,
    clients_know_nothing_of_store_or_sync,
    store_knows_nothing_of_sync_or_api,
    sync_knows_nothing_of_api,
    sandbox_imports_only_itself,
    files_stay_small,
];

#[test]
fn src_keeps_the_module_boundaries() {
    let files = source_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(files.len() > 50, "found only {} files in src/", files.len());
    let violations = check(&files);
    assert!(
        violations.is_empty(),
        "{} architecture violation(s):\n{}",
        violations.len(),
        violations.join("\n")
    );
}

#[test]
fn each_rule_reports_its_offending_line() {
    let long_file = "fn f() {}\n".repeat(MAX_LINES + 1);
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "src/sync/orders.rs",
            "use redb::ReadableTable;",
            &["src/sync/orders.rs:1: redb outside src/store/"],
        ),
        (
            "src/brightpearl/client.rs",
            "use crate::store::Store;",
            &[
                "src/brightpearl/client.rs:1: crate::store inside a client (src/dsco/, src/brightpearl/)",
            ],
        ),
        (
            "src/dsco/mod.rs",
            "    let ctx = crate::sync::FlowCtx::default();",
            &["src/dsco/mod.rs:1: crate::sync inside a client (src/dsco/, src/brightpearl/)"],
        ),
        (
            "src/store/mod.rs",
            "use crate::{api::AppState, secret::Secret};",
            &["src/store/mod.rs:1: crate::api inside src/store/"],
        ),
        (
            "src/store/runs.rs",
            "pub fn f(r: &crate::sync::RunReport) {}",
            &["src/store/runs.rs:1: crate::sync inside src/store/"],
        ),
        (
            "src/store/migrate.rs",
            "use crate::{\n    secret::Secret,\n    sync::FlowName,\n};",
            &["src/store/migrate.rs:3: crate::sync inside src/store/"],
        ),
        (
            "src/sync/shipments.rs",
            "use crate::api::dto::RunView;",
            &["src/sync/shipments.rs:1: crate::api inside src/sync/"],
        ),
        (
            "src/sandbox/common.rs",
            "use crate::brightpearl::Client;",
            &[
                "src/sandbox/common.rs:1: crate::brightpearl inside src/sandbox/ (only crate::sandbox)",
            ],
        ),
        (
            "src/big.rs",
            &long_file,
            &["src/big.rs:1001: file over 1000 lines (1001)"],
        ),
        // Clean: the store may use redb, a comment or a file name may say it, the flows may use
        // the store, the simulators their own modules.
        (
            "src/store/tables.rs",
            "use redb::TableDefinition; // crate::api is not for us",
            &[],
        ),
        (
            "src/config.rs",
            "state_dir.join(\"dsco-brightpearl.redb\"); let shredb = 1; // redb::Database",
            &[],
        ),
        ("src/dsco/client.rs", "// uses crate::store::Store", &[]),
        (
            "src/dsco/batch.rs",
            "let (q, u) = ('\"', \"http://x\"); // crate::sync",
            &[],
        ),
        (
            "src/sync/mod.rs",
            "use crate::{store::Store, mapping};",
            &[],
        ),
        (
            "src/sandbox/mod.rs",
            "use crate::sandbox::common::SimClock;",
            &[],
        ),
    ];
    for (path, text, expected) in cases {
        let file = SourceFile {
            path: (*path).to_owned(),
            text: (*text).to_owned(),
        };
        let found = check(std::slice::from_ref(&file));
        assert_eq!(
            found,
            *expected,
            "checking {path}: {}",
            text.lines().next().unwrap_or("")
        );
    }
}

/// Every violation of every rule, in file order.
fn check(files: &[SourceFile]) -> Vec<String> {
    files
        .iter()
        .flat_map(|file| RULES.iter().flat_map(move |rule| rule(file)))
        .collect()
}

// -------------------------------------------------------------------------------------------------
// Rules

fn redb_only_in_store(file: &SourceFile) -> Vec<String> {
    if file.path.starts_with("src/store/") {
        return Vec::new();
    }
    code_lines(file)
        .filter(|(_, code)| uses_redb(code))
        .map(|(line, _)| violation(file, line, "redb outside src/store/"))
        .collect()
}

fn clients_know_nothing_of_store_or_sync(file: &SourceFile) -> Vec<String> {
    if !(file.path.starts_with("src/dsco/") || file.path.starts_with("src/brightpearl/")) {
        return Vec::new();
    }
    forbidden_crate_paths(
        file,
        &["store", "sync"],
        "inside a client (src/dsco/, src/brightpearl/)",
    )
}

fn store_knows_nothing_of_sync_or_api(file: &SourceFile) -> Vec<String> {
    if !file.path.starts_with("src/store/") {
        return Vec::new();
    }
    forbidden_crate_paths(file, &["sync", "api"], "inside src/store/")
}

fn sync_knows_nothing_of_api(file: &SourceFile) -> Vec<String> {
    if !file.path.starts_with("src/sync/") {
        return Vec::new();
    }
    forbidden_crate_paths(file, &["api"], "inside src/sync/")
}

/// The simulators are written from the API references, so they can catch our clients' mistakes.
fn sandbox_imports_only_itself(file: &SourceFile) -> Vec<String> {
    if !file.path.starts_with("src/sandbox/") {
        return Vec::new();
    }
    crate_paths(file)
        .into_iter()
        .filter(|(_, root)| *root != "sandbox")
        .map(|(line, root)| {
            violation(
                file,
                line,
                &format!("crate::{root} inside src/sandbox/ (only crate::sandbox)"),
            )
        })
        .collect()
}

fn files_stay_small(file: &SourceFile) -> Vec<String> {
    let lines = file.text.lines().count();
    if lines <= MAX_LINES {
        return Vec::new();
    }
    vec![violation(
        file,
        lines,
        &format!("file over {MAX_LINES} lines ({lines})"),
    )]
}

// -------------------------------------------------------------------------------------------------
// Matching

fn violation(file: &SourceFile, line: usize, rule: &str) -> String {
    format!("{}:{line}: {rule}", file.path)
}

/// `crate::<module>` paths naming one of `modules`, one violation per line and module.
fn forbidden_crate_paths(file: &SourceFile, modules: &[&str], place: &str) -> Vec<String> {
    crate_paths(file)
        .into_iter()
        .filter(|(_, root)| modules.contains(&root.as_str()))
        .map(|(line, root)| violation(file, line, &format!("crate::{root} {place}")))
        .collect()
}

/// (line, first module) of every `crate::` path in the file's code, once per line and module.
/// A `use crate::{...}` group may span lines, so the code is scanned as one text.
fn crate_paths(file: &SourceFile) -> Vec<(usize, String)> {
    let mut code = String::new();
    let mut line_starts = Vec::new();
    for (line, text) in code_lines(file) {
        line_starts.push((code.len(), line));
        code.push_str(text);
        code.push('\n');
    }
    let line_at = |offset: usize| {
        let index = line_starts.partition_point(|(start, _)| *start <= offset);
        line_starts[index - 1].1
    };
    let mut found: Vec<(usize, String)> = Vec::new();
    for (offset, root) in crate_roots(&code) {
        let entry = (line_at(offset), root.to_owned());
        if !found.contains(&entry) {
            found.push(entry);
        }
    }
    found
}

/// (1-based line number, code) for each line, without `//` comment lines or end-of-line comments.
fn code_lines(file: &SourceFile) -> impl Iterator<Item = (usize, &str)> {
    file.text.lines().enumerate().filter_map(|(index, line)| {
        let code = strip_comment(line);
        (!code.trim().is_empty()).then_some((index + 1, code))
    })
}

/// The line up to a `//` that is not inside a string literal (counting unescaped quotes; a
/// `'"'` char literal is not a quote).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'\'' if !in_string && bytes.get(i + 1..i + 3) == Some(&b"\"'"[..]) => i += 2,
            b'"' => in_string = !in_string,
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `redb` as a path (`redb::`, `use redb`, `extern crate redb`), not inside a word or a file name.
fn uses_redb(code: &str) -> bool {
    code.match_indices("redb").any(|(at, _)| {
        let before = &code[..at];
        let after = &code[at + "redb".len()..];
        let starts_word = !before.ends_with(|c: char| is_word(c) || c == '.');
        let ends_word = !after.starts_with(is_word);
        if !(starts_word && ends_word) {
            return false;
        }
        let before = before.trim_end();
        after.starts_with("::") || before.ends_with("use") || before.ends_with("extern crate")
    })
}

/// (offset, first module) of every `crate::` path in `code`, including each item of a
/// `crate::{a::B, c}` group: `a` and `c`.
fn crate_roots(code: &str) -> Vec<(usize, &str)> {
    let mut roots = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with(|c: char| is_word(c) || c == ':') {
            continue;
        }
        let start = at + "crate::".len();
        let rest = &code[start..];
        if let Some(group) = rest.strip_prefix('{') {
            let group_start = start + 1;
            let group = &group[..closing_brace(group)];
            for (item_offset, item) in split_top_level(group) {
                let trimmed = item.trim_start();
                let root = first_segment(trimmed);
                if !root.is_empty() && root != "self" {
                    let offset = group_start + item_offset + (item.len() - trimmed.len());
                    roots.push((offset, root));
                }
            }
        } else {
            let root = first_segment(rest);
            if !root.is_empty() {
                roots.push((at, root));
            }
        }
    }
    roots
}

fn first_segment(path: &str) -> &str {
    let end = path.find(|c: char| !is_word(c)).unwrap_or(path.len());
    &path[..end]
}

/// The index of the `}` closing a group whose `{` came just before `group` (or its length).
fn closing_brace(group: &str) -> usize {
    let mut depth = 0usize;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    group.len()
}

/// (offset, item) for the comma-separated items of a group, not splitting inside `{...}`.
fn split_top_level(group: &str) -> Vec<(usize, &str)> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push((start, &group[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push((start, &group[start..]));
    items
}

// -------------------------------------------------------------------------------------------------
// Reading src/

/// Every `.rs` file under `dir`, sorted by path, named relative to the package root.
fn source_files(dir: &Path) -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    collect_rs(dir, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            SourceFile { path: name, text }
        })
        .collect()
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}
