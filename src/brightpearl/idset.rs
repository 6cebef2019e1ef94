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

/// Parse an ID set such as a webhook's `"101,102,105-107"` into ids. `None` on malformed input.
pub fn parse_id_set(text: &str) -> Option<Vec<u64>> {
    let mut ids = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((low, high)) => {
                let low: u64 = low.trim().parse().ok()?;
                let high: u64 = high.trim().parse().ok()?;
                if high < low || high - low > 100_000 {
                    return None;
                }
                ids.extend(low..=high);
            }
            None => ids.push(part.parse().ok()?),
        }
    }
    Some(ids)
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
    fn parses_what_it_formats() {
        assert_eq!(
            parse_id_set("101,102, 105-107").unwrap(),
            vec![101, 102, 105, 106, 107]
        );
        assert_eq!(parse_id_set("7").unwrap(), vec![7]);
        assert!(parse_id_set("5-3").is_none());
        assert!(parse_id_set("a,1").is_none());
        let ids = vec![1, 2, 3, 9, 20, 21];
        assert_eq!(parse_id_set(&format_id_set(&ids)).unwrap(), ids);
    }
}
