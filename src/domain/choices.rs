//! Enums that are a closed set of names (a metric's unit type, a boost's rounding, a model's
//! fields): the names are written once, beside the values, and the name of a value, the
//! value of a name and the list of both all come from there.

/// An enum each of whose values has one name: `CHOICES` (every name with its value, in
/// declaration order, as the config reader's choice lists take them), `name` and `parse`.
/// Serde attributes, where the enum has them, are its own: the names are not derived into
/// (de)serialization, whose messages stay serde's.
macro_rules! choices {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            pub const CHOICES: &'static [(&'static str, $name)] = &[$(($text, $name::$variant),)+];

            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

pub(crate) use choices;
