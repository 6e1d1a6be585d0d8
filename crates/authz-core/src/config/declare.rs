//! How a setting is declared: the row type ([`Setting`]), and the `settings!` macro that turns
//! one declaration per setting (in [`super::settings`]) into its row, its default constant, its
//! field in the document's schema, its place in [`super::SETTINGS`] and its README row.

use std::time::Duration;

use super::{ConfigError, err};

/// How a setting's value is written, in a flat variable and in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// The whole configuration document, JSON (`AUTHZ_CONFIG`).
    Document,
    /// A path to a file holding that document (`AUTHZ_CONFIG_FILE`).
    DocumentFile,
    /// Comma-separated issuers, each becoming one entry of `issuers` (`AUTHZ_ISSUER`).
    Issuers,
    /// One URI (single issuer) or comma-separated `issuer=uri` pairs (`AUTHZ_JWKS_URI`).
    JwksUris,
    /// A string.
    Text,
    /// A list of strings; flat: comma-separated, items trimmed, empty ones dropped.
    List,
    /// `true`/`false` (flat also: `1`/`0`, `yes`/`no`, any case).
    Bool,
    /// A JSON value (flat: the JSON text).
    Json,
    /// A duration in seconds, fractions allowed; bounded by [`Setting::bounds`].
    Seconds,
    /// A whole number; bounded by [`Setting::bounds`].
    Count,
}

/// Inclusive bounds of a number setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Smallest accepted value.
    pub min: u64,
    /// Largest accepted value; `u64::MAX`: no upper bound.
    pub max: u64,
}

/// One row of the settings table, made by `settings!` from a setting's declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Setting {
    /// The flat environment variable (`AUTHZ_` and the declared name); empty for a key settable
    /// only in the document.
    pub variable: &'static str,
    /// Dotted key path in the `AUTHZ_CONFIG` document (the declared field, in its section);
    /// `issuers[].` marks a per-issuer key; empty for the variables that carry the document.
    pub key: &'static str,
    /// Also settable per issuer, as `issuers[].{key}` (which then wins for that issuer).
    pub also_per_issuer: bool,
    /// How the value is written.
    pub kind: Kind,
    /// What applies when unset, as documented (`None`: unset, the feature is off). Numbers are
    /// rendered from the named constants, so the documented value is the one the parser applies.
    pub default: Option<&'static str>,
    /// Accepted range of a number.
    pub bounds: Option<Bounds>,
    /// The documentation: the declaration's doc comment, the README's "meaning" cell.
    pub doc: &'static str,
    /// The default of a number setting, the named constant `default` is rendered from.
    pub(super) number: Option<u64>,
    /// `default` is a value (shown as code in the README), not words such as "required".
    pub(super) default_is_value: bool,
}

impl Setting {
    /// The key path inside one issuer's entry, for a per-issuer key (`issuers[].a.b` → `a.b`).
    pub(super) fn issuer_key(&self) -> Option<&'static str> {
        self.key.strip_prefix("issuers[].")
    }

    /// A duration setting: `value`, else the default, within the bounds; errors name `name`.
    pub(super) fn seconds(&self, value: Option<f64>, name: &str) -> Result<Duration, ConfigError> {
        let v = value.unwrap_or(self.number.unwrap_or_default() as f64);
        let max = self.bounds.map_or(u64::MAX, |b| b.max);
        if !v.is_finite() || v < 0.0 || v > max as f64 {
            return err(format!(
                "{name}: must be between 0 and {max} seconds, got {v}"
            ));
        }
        Ok(Duration::from_secs_f64(v))
    }

    /// A count setting: `value`, else the default, within the bounds; errors name `name`.
    pub(super) fn count(&self, value: Option<usize>, name: &str) -> Result<usize, ConfigError> {
        let default = usize::try_from(self.number.unwrap_or_default()).unwrap_or(usize::MAX);
        let n = value.unwrap_or(default);
        let Bounds { min, max } = self.bounds.unwrap_or(Bounds {
            min: 0,
            max: u64::MAX,
        });
        match (n as u64) < min || n as u64 > max {
            false => Ok(n),
            true if max == u64::MAX => err(format!("{name}: at least {min}")),
            true => err(format!("{name}: must be between {min} and {max}")),
        }
    }

    /// Its row of the README's configuration table.
    #[cfg(test)]
    pub(super) fn readme_row(&self) -> String {
        let code = |t: &str| match t {
            "" => "—".to_owned(),
            t => format!("`{t}`"),
        };
        let mut key = code(self.key);
        if self.also_per_issuer {
            key.push_str(&format!(" (or `issuers[].{}`)", self.key));
        }
        let default = match self.default {
            None => "unset".to_owned(),
            Some(d) if self.default_is_value => code(d),
            Some(d) => d.to_owned(),
        };
        let mut doc = self.doc.split_whitespace().collect::<Vec<_>>().join(" ");
        match (self.kind, self.bounds) {
            (_, None) => {}
            (_, Some(Bounds { min, max: u64::MAX })) => {
                doc.push_str(&format!(" Range: at least {min}."));
            }
            (Kind::Seconds, Some(Bounds { min, max })) => {
                doc.push_str(&format!(" Range: {min}–{max} s."));
            }
            (_, Some(Bounds { min, max })) => doc.push_str(&format!(" Range: {min}–{max}.")),
        }
        format!("| {} | {key} | {default} | {doc} |", code(self.variable))
    }
}

/// The README's configuration table: a header and one row per setting, in declaration order.
#[cfg(test)]
pub(super) fn readme_table(rows: &[Setting]) -> String {
    let mut out =
        String::from("| variable | JSON key | default | meaning / example |\n|---|---|---|---|\n");
    for row in rows {
        out.push_str(&row.readme_row());
        out.push('\n');
    }
    out
}

/// Decimal digits of a number, computed at compile time so the documented default is the
/// constant itself.
#[derive(Debug)]
pub(super) struct Decimal {
    pub(super) digits: [u8; 20],
    pub(super) len: usize,
}

pub(super) const fn decimal(mut n: u64) -> Decimal {
    let mut reversed = [0u8; 20];
    let mut len = 0;
    loop {
        reversed[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut digits = [0u8; 20];
    let mut i = 0;
    while i < len {
        digits[i] = reversed[len - 1 - i];
        i += 1;
    }
    Decimal { digits, len }
}

/// `&'static str` of a number constant, evaluated at compile time.
macro_rules! text {
    ($n:expr) => {{
        const DIGITS: &$crate::config::declare::Decimal = &$crate::config::declare::decimal($n);
        match core::str::from_utf8(DIGITS.digits.split_at(DIGITS.len).0) {
            Ok(s) => s,
            Err(_) => "",
        }
    }};
}
pub(super) use text;

/// `"true"` or `"false"`, at compile time.
pub(super) const fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Bounds `0..=max`.
pub(super) const fn up_to(max: u64) -> Option<Bounds> {
    Some(Bounds { min: 0, max })
}

/// Bounds `min..=max` of a count.
pub(super) const fn between(min: usize, max: usize) -> Option<Bounds> {
    Some(Bounds {
        min: min as u64,
        max: max as u64,
    })
}

/// The row every declaration starts from.
pub(super) const ROW: Setting = Setting {
    variable: "",
    key: "",
    also_per_issuer: false,
    kind: Kind::Text,
    default: None,
    bounds: None,
    doc: "",
    number: None,
    default_is_value: false,
};

/// Declares the settings, one declaration each, in the README's order:
///
/// ```text
/// /// Doc: the README's "meaning" cell.
/// NAME: SECTION.field: RawType, Kind [= value | ~ "words"] [{ DEFAULT_CONST = n, bounds }];
/// ```
///
/// - `NAME`'s flat variable is `AUTHZ_NAME`; `document NAME: …` declares a key with no flat
///   variable, `NAME: whole, Kind;` a variable carrying the whole document (no key);
/// - `SECTION.field` places the key: `top.f` → `f`; `both.f` → `f`, also `issuers[].f`;
///   `issuer.f` → `issuers[].f`; `jwks.f`, `http.f`; `introspection.f` →
///   `issuers[].introspection.f`. The field, of `RawType`, is generated in that section's schema
///   struct (`RawConfig`, `RawIssuer`, `RawJwks`, `RawHttp`, `RawIntrospection`);
/// - the default: `= value` (shown as code), `~ "words"`, or for `Seconds`/`Count` the braces,
///   which declare the named default constant and the bounds; none: unset.
///
/// It defines the row constant `NAME`, [`super::SETTINGS`] (the rows with a flat variable),
/// `DOCUMENT_ONLY_SETTINGS` and `ALL_ROWS` (the others, and every row, for the tests) and the
/// schema structs; the README table is rendered from the rows. A declaration takes a few
/// expansion steps, hence the crate's `recursion_limit`.
macro_rules! settings {
    // One declaration, normalised: `[flat|document] NAME [section field type] kind [default]
    // [number] [docs]`; emits the row (and a number's default constant), then pushes the field.
    (@one $which:ident $name:ident [$sec:ident $($field:ident $ty:ty)?] $kind:ident
        [$($value:expr)?] [$($words:literal)?] [$($dname:ident = $dval:expr, $bounds:expr)?]
        [$($doc:literal)*] $acc:tt $($rest:tt)*) => {
        $(
            #[doc = concat!("Default of the setting `", stringify!($name), "`.")]
            pub const $dname: $crate::config::declare::number_type!($kind) = $dval;
        )?
        $(#[doc = $doc])*
        #[allow(dead_code, reason = "a document-only row may serve only the README and tests")]
        pub const $name: Setting = Setting {
            variable: $crate::config::declare::variable!($which $name),
            key: $crate::config::declare::key!($sec $($field)?),
            also_per_issuer: $crate::config::declare::key!(@both $sec),
            kind: Kind::$kind,
            doc: concat!($($doc),*).trim_ascii(),
            $(default: Some($value), default_is_value: true,)?
            $(default: Some($words),)?
            $(
                default: Some($crate::config::declare::text!($dname as u64)),
                default_is_value: true,
                number: Some($dname as u64),
                bounds: $bounds,
            )?
            ..$crate::config::declare::ROW
        };
        settings!(@push $which $name $sec [$($field $ty)?] $acc $($rest)*);
    };

    // Pushes the row onto SETTINGS or DOCUMENT_ONLY_SETTINGS and the field onto its section.
    (@push flat $name:ident $sec:ident $f:tt
        [[[$($flat:ident)*] $docs:tt [$($all:ident)*]] $($acc:tt)*] $($rest:tt)*) => {
        settings!(@field $sec $f [[[$($flat)* $name] $docs [$($all)* $name]] $($acc)*] $($rest)*);
    };
    (@push document $name:ident $sec:ident $f:tt
        [[$flat:tt [$($docs:ident)*] [$($all:ident)*]] $($acc:tt)*] $($rest:tt)*) => {
        settings!(@field $sec $f [[$flat [$($docs)* $name] [$($all)* $name]] $($acc)*] $($rest)*);
    };
    (@field whole [] $acc:tt $($rest:tt)*) => { settings!(@rows $acc $($rest)*); };
    (@field top [$f:ident $t:ty] [$l:tt [$($top:tt)*] $iss:tt $jwks:tt $http:tt $intr:tt]
        $($rest:tt)*) => {
        settings!(@rows [$l [$($top)* pub(super) $f: $t,] $iss $jwks $http $intr] $($rest)*);
    };
    (@field both [$f:ident $t:ty]
        [$l:tt [$($top:tt)*] [$($iss:tt)*] $jwks:tt $http:tt $intr:tt] $($rest:tt)*) => {
        settings!(@rows [$l [$($top)* pub(super) $f: $t,] [$($iss)* pub(super) $f: $t,]
            $jwks $http $intr] $($rest)*);
    };
    (@field issuer [$f:ident $t:ty]
        [$l:tt $top:tt [$($iss:tt)*] $jwks:tt $http:tt $intr:tt] $($rest:tt)*) => {
        settings!(@rows [$l $top [$($iss)* pub(super) $f: $t,] $jwks $http $intr] $($rest)*);
    };
    (@field jwks [$f:ident $t:ty]
        [$l:tt $top:tt $iss:tt [$($jwks:tt)*] $http:tt $intr:tt] $($rest:tt)*) => {
        settings!(@rows [$l $top $iss [$($jwks)* pub(super) $f: $t,] $http $intr] $($rest)*);
    };
    (@field http [$f:ident $t:ty]
        [$l:tt $top:tt $iss:tt $jwks:tt [$($http:tt)*] $intr:tt] $($rest:tt)*) => {
        settings!(@rows [$l $top $iss $jwks [$($http)* pub(super) $f: $t,] $intr] $($rest)*);
    };
    (@field introspection [$f:ident $t:ty]
        [$l:tt $top:tt $iss:tt $jwks:tt $http:tt [$($intr:tt)*]] $($rest:tt)*) => {
        settings!(@rows [$l $top $iss $jwks $http [$($intr)* pub(super) $f: $t,]] $($rest)*);
    };

    // The declarations, one at a time.
    (@rows $acc:tt $(#[doc = $doc:literal])* document $name:ident : $($rest:tt)*) => {
        settings!(@decl document $name [$($doc)*] $acc $($rest)*);
    };
    (@rows $acc:tt $(#[doc = $doc:literal])* $name:ident : $($rest:tt)*) => {
        settings!(@decl flat $name [$($doc)*] $acc $($rest)*);
    };
    (@decl $which:ident $name:ident $docs:tt $acc:tt whole, $kind:ident; $($rest:tt)*) => {
        settings!(@one $which $name [whole] $kind [] [] [] $docs $acc $($rest)*);
    };
    (@decl $which:ident $name:ident $docs:tt $acc:tt
        $sec:ident . $field:ident : $ty:ty, $kind:ident
        { $dname:ident = $dval:expr, $bounds:expr }; $($rest:tt)*) => {
        settings!(@one $which $name [$sec $field $ty] $kind [] []
            [$dname = $dval, $bounds] $docs $acc $($rest)*);
    };
    (@decl $which:ident $name:ident $docs:tt $acc:tt
        $sec:ident . $field:ident : $ty:ty, $kind:ident ~ $words:literal; $($rest:tt)*) => {
        settings!(@one $which $name [$sec $field $ty] $kind [] [$words] [] $docs $acc $($rest)*);
    };
    (@decl $which:ident $name:ident $docs:tt $acc:tt
        $sec:ident . $field:ident : $ty:ty, $kind:ident $(= $value:expr)?; $($rest:tt)*) => {
        settings!(@one $which $name [$sec $field $ty] $kind [$($value)?] [] [] $docs $acc
            $($rest)*);
    };

    // The end: the lists and the schema structs.
    (@rows [[[$($flat:ident)*] [$($docs:ident)*] [$($all:ident)*]]
        [$($top:tt)*] [$($iss:tt)*] [$($jwks:tt)*] [$($http:tt)*] [$($intr:tt)*]]) => {
        /// Every setting with a flat variable, in the README's order.
        pub const SETTINGS: &[Setting] = &[$($flat),*];

        /// Settings only the document can set (no flat variable).
        #[cfg(test)]
        pub(super) const DOCUMENT_ONLY_SETTINGS: &[Setting] = &[$($docs),*];

        /// Every row, flat or document-only, in declaration (the README's) order.
        #[cfg(test)]
        pub(super) const ALL_ROWS: &[Setting] = &[$($all),*];

        /// The document's schema: its top-level keys.
        #[derive(serde::Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        pub(super) struct RawConfig {
            pub(super) issuers: Option<Vec<RawIssuer>>,
            #[serde(default)]
            pub(super) jwks: RawJwks,
            #[serde(default)]
            pub(super) http: RawHttp,
            $($top)*
        }

        /// One entry of `issuers`.
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct RawIssuer {
            pub(super) introspection: Option<RawIntrospection>,
            $($iss)*
        }

        /// `issuers[].introspection`.
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct RawIntrospection {
            $($intr)*
        }

        /// `jwks`.
        #[derive(serde::Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        pub(super) struct RawJwks {
            $($jwks)*
        }

        /// `http`.
        #[derive(serde::Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        pub(super) struct RawHttp {
            $($http)*
        }
    };

    // The entry point: empty lists and sections.
    ($($decls:tt)*) => { settings!(@rows [[[] [] []] [] [] [] [] []] $($decls)*); };
}
pub(super) use settings;

/// The variable of a declaration: `AUTHZ_NAME`, or none for a document-only key.
macro_rules! variable {
    (flat $name:ident) => {
        concat!("AUTHZ_", stringify!($name))
    };
    (document $name:ident) => {
        ""
    };
}
pub(super) use variable;

/// The document key of a declaration's section and field.
macro_rules! key {
    (whole) => {
        ""
    };
    (top $f:ident) => {
        stringify!($f)
    };
    (both $f:ident) => {
        stringify!($f)
    };
    (issuer $f:ident) => {
        concat!("issuers[].", stringify!($f))
    };
    (jwks $f:ident) => {
        concat!("jwks.", stringify!($f))
    };
    (http $f:ident) => {
        concat!("http.", stringify!($f))
    };
    (introspection $f:ident) => {
        concat!("issuers[].introspection.", stringify!($f))
    };
    (@both both) => {
        true
    };
    (@both $other:ident) => {
        false
    };
}
pub(super) use key;

/// The Rust type of a number's default constant.
macro_rules! number_type {
    (Seconds) => {
        u64
    };
    (Count) => {
        usize
    };
}
pub(super) use number_type;
