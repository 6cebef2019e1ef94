//! Brightpearl ID sets (`1-5,9,12-14`, brightpearl-api.md §1.3) and splitting them under per-resource caps.

/// Per-call caps on ID sets (brightpearl-api.md §1.3).
pub const ORDER_ID_CAP: usize = 200;
pub const PRODUCT_ID_CAP: usize = 200;
pub const GOODS_OUT_NOTE_ID_CAP: usize = 500;
/// Availability: the cap is not documented; one bad id fails the whole call, so keep it modest.
pub const AVAILABILITY_ID_CAP: usize = 200;

/// Render ids as an ID set: sorted, de-duplicated, consecutive runs as ascending ranges.
pub fn format_id_set(ids: &[u64]) -> String {
    let mut sorted: Vec<u64> = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(match end - start {
            0 => start.to_string(),
            // Two neighbours read better as a list than as a range.
            1 => format!("{start},{end}"),
            _ => format!("{start}-{end}"),
        });
        i += 1;
    }
    parts.join(",")
}

/// Split ids into ID sets of at most `cap` ids each (sorted, de-duplicated).
pub fn chunk_id_sets(ids: &[u64], cap: usize) -> Vec<String> {
    let mut sorted: Vec<u64> = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.chunks(cap.max(1)).map(format_id_set).collect()
}

/// The widest range [`parse_id_set`] expands (a guard against `1-999999999`).
pub const MAX_RANGE_SPAN: u64 = 100_000;

/// Parse an ID set such as a webhook's `"101,102,105-107"` into ids, in the order written
/// (brightpearl-api.md §1.3): single ids, ascending ranges `low-high`, comma lists and mixtures;
/// a period also separates ids (the "unordered list" one client describes, UNCONFIRMED). Ids are
/// positive. The error says which part is wrong and why.
pub fn parse_id_set(text: &str) -> Result<Vec<u64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the ID set is empty".into());
    }
    let id = |part: &str| -> Result<u64, String> {
        match part.trim().parse::<u64>() {
            Ok(0) => Err(format!("{part:?}: ids are positive")),
            Ok(id) => Ok(id),
            Err(_) => Err(format!("{part:?} is not an id")),
        }
    };
    let mut ids = Vec::new();
    for part in text.split([',', '.']).map(str::trim) {
        if part.is_empty() {
            return Err(format!("{text:?} has an empty entry"));
        }
        match part.split_once('-') {
            Some((low, high)) => {
                let (low, high) = (id(low)?, id(high)?);
                if high < low {
                    return Err(format!("range {part:?} must go from low to high"));
                }
                if high - low >= MAX_RANGE_SPAN {
                    return Err(format!(
                        "range {part:?} spans more than {MAX_RANGE_SPAN} ids"
                    ));
                }
                ids.extend(low..=high);
            }
            None => ids.push(id(part)?),
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_ranges_lists_and_mixtures() {
        let check =
            |ids: &[u64], expected: &str| assert_eq!(format_id_set(ids), expected, "{ids:?}");
        check(&[8], "8");
        check(&[3, 1, 2], "1-3");
        check(&[1, 5, 9], "1,5,9");
        check(&[5, 6], "5,6");
        check(
            &[40, 34, 35, 36, 37, 38, 39, 120, 1000, 1001, 1002, 120],
            "34-40,120,1000-1002",
        );
        check(&[], "");
    }

    #[test]
    fn chunks_respect_the_cap() {
        let ids: Vec<u64> = (1..=450).collect();
        assert_eq!(
            chunk_id_sets(&ids, 200),
            vec!["1-200", "201-400", "401-450"]
        );
        let sparse: Vec<u64> = (0..5).map(|i| i * 10).collect();
        assert_eq!(chunk_id_sets(&sparse, 2), vec!["0,10", "20,30", "40"]);
        assert!(chunk_id_sets(&[], 200).is_empty());
    }

    #[test]
    fn parses_single_ids_ranges_lists_and_mixtures() {
        let check = |text: &str, expected: &[u64]| {
            assert_eq!(parse_id_set(text).unwrap(), expected, "{text}");
        };
        check("7", &[7]);
        check("1-5", &[1, 2, 3, 4, 5]);
        check("1,2,3", &[1, 2, 3]);
        check("101,102, 105-107", &[101, 102, 105, 106, 107]);
        check("34-36,120,1000-1001", &[34, 35, 36, 120, 1000, 1001]);
        check("5.3.9", &[5, 3, 9]);
        check(" 8 ", &[8]);
        check("4-4", &[4]);
        let ids = vec![1, 2, 3, 9, 20, 21];
        assert_eq!(parse_id_set(&format_id_set(&ids)).unwrap(), ids);
    }

    #[test]
    fn malformed_sets_say_what_is_wrong() {
        let check = |text: &str, words: &str| {
            let error = parse_id_set(text).unwrap_err();
            assert!(error.contains(words), "{text}: {error}");
        };
        check("", "empty");
        check("1,,2", "empty entry");
        check("5-3", "low to high");
        check("a,1", "\"a\" is not an id");
        check("0", "positive");
        check("1-2-3", "is not an id");
        check("-4", "is not an id");
        check("1-200000", "spans more than");
        check("${resource-id}", "is not an id");
    }
}
