//! Fixed-point amounts for the figures flows compute (row nets, tax): ten-thousandths, as
//! Brightpearl takes up to 4 decimal places. The wire type stays `brightpearl::Money`.

/// An amount in ten-thousandths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(pub i64);

impl Amount {
    pub fn from_f64(v: f64) -> Amount {
        Amount((v * 10_000.0).round() as i64)
    }

    /// Parse a decimal string such as `"12.5"` or `"-3.0001"`.
    pub fn parse(s: &str) -> Option<Amount> {
        let s = s.trim();
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && frac.is_empty() {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut frac_units = 0i64;
        for (i, c) in frac.chars().enumerate() {
            let d = c.to_digit(10)? as i64;
            if i < 4 {
                frac_units += d * 10i64.pow(3 - i as u32);
            } else if i == 4 && d >= 5 {
                frac_units += 1;
            }
        }
        let units = whole * 10_000 + frac_units;
        Some(Amount(if neg { -units } else { units }))
    }

    pub fn times(self, quantity: i64) -> Amount {
        Amount(self.0 * quantity)
    }

    /// `self` × `percent` / 100, rounded half away from zero to whole cents.
    pub fn percent(self, percent: Amount) -> Amount {
        // units × (percent units / 10_000) / 100 → units; then round to cents (100 units).
        let raw = self.0 as i128 * percent.0 as i128;
        let units = div_round(raw, 1_000_000);
        Amount(div_round(units, 100) as i64 * 100)
    }

    /// Four decimal places, as Brightpearl shows row values.
    pub fn to_4dp(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:04}", abs / 10_000, abs % 10_000)
    }
}

fn div_round(value: i128, by: i128) -> i128 {
    let q = value / by;
    let r = value % by;
    if r.abs() * 2 >= by {
        q + value.signum()
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::Amount;

    #[test]
    fn money_arithmetic() {
        assert_eq!(Amount::parse("12.5").unwrap().to_4dp(), "12.5000");
        assert_eq!(Amount::parse("-0.00005").unwrap().to_4dp(), "-0.0001");
        assert_eq!(Amount::from_f64(19.99).times(3).to_4dp(), "59.9700");
        assert_eq!(
            Amount::parse("59.97")
                .unwrap()
                .percent(Amount::parse("10").unwrap())
                .to_4dp(),
            "6.0000"
        );
        assert_eq!(
            Amount::parse("9.99")
                .unwrap()
                .percent(Amount::parse("7.25").unwrap())
                .to_4dp(),
            "0.7200"
        );
        assert!(Amount::parse("abc").is_none());
    }
}
