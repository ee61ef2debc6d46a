//! Numbers as Trophy writes them: whole values as JSON integers (`750`, not `750.0`),
//! fractions as they are. Both SDKs read either, but clients comparing bodies expect
//! Trophy's form.

use serde::Serializer;
use serde_json::Value;

use crate::error::ApiError;

/// Whole values up to 2^53 are exact as integers.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

pub fn json_number(x: f64) -> Value {
    let x = representable(x);
    if x.fract() == 0.0 && x.abs() <= MAX_EXACT {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    let x = representable(*x);
    if x.fract() == 0.0 && x.abs() <= MAX_EXACT {
        s.serialize_i64(x as i64)
    } else {
        s.serialize_f64(x)
    }
}

/// JSON has no infinity: serde_json writes `null`, which both SDKs refuse for a number.
/// Stored numbers are kept finite (see [`check_finite`]); a sum made while reading can
/// still overflow, and is answered as the largest double rather than breaking the reply.
fn representable(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(-f64::MAX, f64::MAX)
    }
}

/// The refusal of an input that would carry `what` past the largest finite double.
pub fn too_large(what: &str) -> ApiError {
    ApiError::NotFinite(format!(
        "This would make {what} too large to store (numbers are kept within ±{:e}); nothing was changed",
        f64::MAX
    ))
}

/// `x` when it is finite, otherwise the refusal naming `what`. Every aggregate an event
/// moves goes through this before the command may succeed.
pub fn check_finite(x: f64, what: &str) -> Result<f64, ApiError> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(too_large(what))
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

    #[test]
    fn non_finite_values_never_reach_json_as_null() {
        assert_eq!(json_number(f64::INFINITY), json_number(f64::MAX));
        assert_eq!(json_number(f64::NEG_INFINITY), json_number(-f64::MAX));
        assert_eq!(json_number(f64::NAN).to_string(), "0");
        #[derive(serde::Serialize)]
        struct T(#[serde(serialize_with = "serialize")] f64);
        let text = serde_json::to_string(&T(f64::INFINITY)).expect("json");
        assert_eq!(text, "1.7976931348623157e+308");
    }

    #[test]
    fn only_finite_values_pass_the_check() {
        assert_eq!(check_finite(1e308, "x").ok(), Some(1e308));
        assert_eq!(check_finite(-0.5, "x").ok(), Some(-0.5));
        for bad in [1e308 + 1e308, f64::NEG_INFINITY, f64::NAN] {
            match check_finite(bad, "the metric total") {
                Err(ApiError::NotFinite(m)) => {
                    assert!(
                        m.starts_with("This would make the metric total too large"),
                        "{m}"
                    )
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
