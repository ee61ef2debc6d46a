//! Numbers as Trophy writes them: whole values as JSON integers (`750`, not `750.0`),
//! fractions as they are. Both SDKs read either, but clients comparing bodies expect
//! Trophy's form.

use serde::Serializer;
use serde_json::Value;

/// Whole values up to 2^53 are exact as integers.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

pub fn json_number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() <= MAX_EXACT {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    if x.fract() == 0.0 && x.abs() <= MAX_EXACT {
        s.serialize_i64(*x as i64)
    } else {
        s.serialize_f64(*x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_values_are_integers_and_fractions_stay() {
        assert_eq!(json_number(750.0).to_string(), "750");
        assert_eq!(json_number(-3.0).to_string(), "-3");
        assert_eq!(json_number(0.5).to_string(), "0.5");
        assert_eq!(json_number(1e300).to_string(), "1e+300");
    }
}
