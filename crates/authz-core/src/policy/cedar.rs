//! Cedar decisions for verified principals, in the shape of Amazon Verified Permissions'
//! API Gateway integration (an API-linked policy store), so policies move either way:
//!
//! * principal `NS::User::"<prefix><sub>"` (`sub`, else the client), with a parent
//!   `NS::UserGroup::"<prefix><group>"` per value of the configured groups claim;
//! * action `NS::Action::"<method> <path>"`, the method lower-case and the path the route's
//!   template (`"get /pets/{petId}"`), as the integration's generated authorizer names them;
//! * resource `NS::Application::"NS"`;
//! * an empty context: the decision depends on the token and the route only, so one cached
//!   answer is right for every request with the same token (a policy reading `context` errs,
//!   and an error denies).
//!
//! Principal attributes: a small, fixed mapping, typed by the schema. Only attributes the
//! schema declares on `NS::User` are set: `sub`, `iss`, `client_id` (Strings) and `scopes`
//! (`Set<String>`, the token's scopes) from the verified token; any other declared attribute
//! from the top-level claim of the same name when its JSON type fits the declared one
//! (`String`, `Long`, `Boolean`, `Set<String>`), else left out (a policy reads it behind `has`).
//!
//! Policy templates (`?principal`, `?resource` slots) of the policy file grant nothing by
//! themselves; [`CedarPolicies::link`] links them from a file of template-linked policies in
//! Verified Permissions' shapes ([`CedarPolicies::link`] documents it). A linked policy is sliced
//! per action like a static one and named by its link id (`policyId`) in decisions.
//!
//! Pure: the configuration reads the files and hands their text here; validation of the
//! policies against the schema is the tests' and the build's job ([`CedarPolicies::validate`]),
//! not the cold start's.

use std::{
    collections::{HashMap, HashSet},
    str::FromStr,
    sync::Arc,
};

use cedar_policy::{
    ActionConstraint, AuthorizationError, Authorizer, Context, Decision, Entities, Entity,
    EntityId, EntityTypeName, EntityUid, PolicyId, PolicySet, Request, RestrictedExpression,
    Schema, SchemaFragment, SlotId, ValidationMode, Validator,
};
use miette::Diagnostic;
use serde::Deserialize;
use serde_json::Value;

use crate::claims::Claims;

/// The parsed policy set and schema, with the entity mapping's settings.
#[derive(Debug)]
pub struct CedarPolicies {
    namespace: String,
    groups_claim: Option<String>,
    prefix: String,
    policies: PolicySet,
    schema: Schema,
    /// The declared attributes of `NS::User` and their kind.
    attributes: Vec<(String, AttrKind)>,
    /// Each action of the schema with its ancestors (action groups), for the request entities.
    actions: HashMap<EntityUid, Vec<Entity>>,
    authorizer: Authorizer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AttrKind {
    String,
    Long,
    Boolean,
    StringSet,
}

/// Where a text came from, for messages: the setting and the file.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The setting naming the file (`AUTHZ_CEDAR_POLICIES`).
    pub setting: &'a str,
    /// The file's path.
    pub path: &'a str,
    /// Its text.
    pub text: &'a str,
}

impl Source<'_> {
    /// `SETTING: PATH:LINE:COL: message`, the position from Cedar's first label.
    fn error(&self, e: &(dyn Diagnostic + '_), message: impl std::fmt::Display) -> String {
        let position = e
            .labels()
            .and_then(|mut labels| labels.next())
            .map(|label| {
                let offset = label.offset().min(self.text.len());
                let before = &self.text[..offset];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(":{line}:{column}")
            })
            .unwrap_or_default();
        let help = e.help().map(|h| format!(" ({h})")).unwrap_or_default();
        format!("{}: {}{position}: {message}{help}", self.setting, self.path)
    }
}

/// One Cedar-decided route: its action and the policies that can apply to it.
#[derive(Clone)]
pub struct CedarRoute {
    policies: Arc<CedarPolicies>,
    action: EntityUid,
    /// The policies whose action scope can include this action (Eq this action, `in` a list, or
    /// any action): the others cannot apply, so the answer is the same.
    sliced: PolicySet,
}

impl std::fmt::Debug for CedarRoute {
    /// The action and how many policies apply, not the policy set (a rule's `Debug` stays short).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CedarRoute")
            .field("action", &self.action.to_string())
            .field("policies", &self.sliced.num_of_policies())
            .finish()
    }
}

impl PartialEq for CedarRoute {
    fn eq(&self, other: &CedarRoute) -> bool {
        Arc::ptr_eq(&self.policies, &other.policies) && self.action == other.action
    }
}
impl Eq for CedarRoute {}

/// A Cedar answer: allowed or not, the policies that determined it (Cedar's reasons), and the
/// policies whose evaluation erred (which deny: an erring `permit` grants nothing, an erring
/// `forbid` is reported and the answer is Deny).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CedarAnswer {
    /// Allow.
    pub allowed: bool,
    /// Ids of the determining policies (`@id("…")` when the policy has one).
    pub reasons: Vec<String>,
    /// Ids of the policies whose evaluation failed.
    pub errors: Vec<String>,
}

impl CedarPolicies {
    /// Parses the policy set and the schema (Cedar's human format, or JSON when the path ends
    /// with `.json`, as Verified Permissions exports it). Errors name the setting, the file, the
    /// line and column, and Cedar's message. Validation against the schema is not re-run here.
    pub fn parse(
        policies: Source<'_>,
        schema: Source<'_>,
        namespace: &str,
        groups_claim: Option<String>,
        prefix: String,
    ) -> Result<CedarPolicies, String> {
        let set =
            PolicySet::from_str(policies.text).map_err(|e| policies.error(&e, format!("{e}")))?;
        let fragment = if schema.path.ends_with(".json") {
            SchemaFragment::from_json_str(schema.text)
                .map_err(|e| schema.error(&e, format!("{e}")))?
        } else {
            SchemaFragment::from_cedarschema_str(schema.text)
                .map_err(|e| schema.error(&e, format!("{e}")))?
                .0
        };
        let json = fragment
            .to_json_value()
            .map_err(|e| format!("{}: {}: {e}", schema.setting, schema.path))?;
        let parsed =
            Schema::from_json_value(json.clone()).map_err(|e| schema.error(&e, format!("{e}")))?;
        let user = entity_type(namespace, "User")?;
        for ty in [&user, &entity_type(namespace, "UserGroup")?] {
            if !parsed.entity_types().any(|t| t == ty) {
                return Err(format!(
                    "{}: {}: the schema declares no entity type `{ty}` (the principal is \
                     `{namespace}::User` in `{namespace}::UserGroup` groups)",
                    schema.setting, schema.path
                ));
            }
        }
        let attributes = user_attributes(&json, namespace);
        let all_actions = parsed
            .action_entities()
            .map_err(|e| format!("{}: {}: {e}", schema.setting, schema.path))?;
        let mut actions = HashMap::new();
        for uid in parsed.actions() {
            let mut chain: Vec<Entity> = all_actions.get(uid).cloned().into_iter().collect();
            for ancestor in all_actions.ancestors(uid).into_iter().flatten() {
                chain.extend(all_actions.get(ancestor).cloned());
            }
            actions.insert(uid.clone(), chain);
        }
        Ok(CedarPolicies {
            namespace: namespace.to_owned(),
            groups_claim,
            prefix,
            policies: set,
            schema: parsed,
            attributes,
            actions,
            authorizer: Authorizer::new(),
        })
    }

    /// The Verified Permissions action name of a route (`POST /pets/{petId}` →
    /// `post /pets/{petId}`), or `None` for `ANY` and `$default`, which name no one action.
    pub fn action_name(route: &str) -> Option<String> {
        let (verb, path) = route.split_once(' ')?;
        (verb != "ANY").then(|| format!("{} {path}", verb.to_ascii_lowercase()))
    }

    /// The decider of one route; the action must be declared in the schema.
    pub fn route(self: &Arc<Self>, route: &str) -> Result<CedarRoute, String> {
        let name = CedarPolicies::action_name(route).ok_or_else(|| {
            "a Cedar-decided route names one method and path (not `ANY` or `$default`: the \
             Verified Permissions action is `<method> <path>`)"
                .to_owned()
        })?;
        let action = EntityUid::from_type_name_and_id(
            entity_type(&self.namespace, "Action")?,
            EntityId::new(&name),
        );
        if !self.actions.contains_key(&action) {
            return Err(format!(
                "the Cedar schema declares no action `{action}` for this route"
            ));
        }
        let ancestors: HashSet<EntityUid> = self
            .actions
            .get(&action)
            .into_iter()
            .flatten()
            .map(Entity::uid)
            .collect();
        let mut sliced = PolicySet::new();
        for p in self
            .policies
            .policies()
            .filter(|p| match p.action_constraint() {
                ActionConstraint::Any => true,
                ActionConstraint::Eq(a) => a == action,
                ActionConstraint::In(list) => list.iter().any(|a| ancestors.contains(a)),
            })
        {
            // A linked policy enters a set as a link of its template (with the same id).
            let added = match (p.template_id(), p.template_links()) {
                (Some(template), Some(values)) => {
                    if sliced.template(template).is_none()
                        && let Some(t) = self.policies.template(template)
                    {
                        sliced
                            .add_template(t.clone())
                            .map_err(|e| format!("slicing the policies for `{name}`: {e}"))?;
                    }
                    sliced.link(template.clone(), p.id().clone(), values)
                }
                _ => sliced.add(p.clone()),
            };
            added.map_err(|e| format!("slicing the policies for `{name}`: {e}"))?;
        }
        Ok(CedarRoute {
            policies: Arc::clone(self),
            action,
            sliced,
        })
    }

    /// Strict validation of the policies against the schema, for tests and builds: the
    /// messages of every validation error (empty when valid). The request context is whatever
    /// the schema declares for the actions: declare none, and a policy reading `context` fails.
    pub fn validate(&self) -> Vec<String> {
        Validator::new(self.schema.clone())
            .validate(&self.policies, ValidationMode::Strict)
            .validation_errors()
            .map(|e| format!("{e}"))
            .collect()
    }

    /// The names of the policy file's templates (`@id`, else Cedar's id), in file order.
    pub fn templates(&self) -> Vec<String> {
        self.policies
            .templates()
            .map(|t| {
                t.annotation("id")
                    .map_or_else(|| t.id().to_string(), str::to_owned)
            })
            .collect()
    }

    /// Links the policy file's templates from a file of template-linked policies, as Verified
    /// Permissions holds them; returns how many were linked. The file is JSON: a list of links,
    /// or the output of `aws verifiedpermissions list-policies --filter
    /// policyType=TEMPLATE_LINKED` (`{"policies": [...]}`). A link is Verified Permissions'
    /// `PolicyItem`,
    ///
    /// ```json
    /// {"policyId": "admins-write", "policyType": "TEMPLATE_LINKED",
    ///  "definition": {"templateLinked": {"policyTemplateId": "group-writes",
    ///    "principal": {"entityType": "PetStore::UserGroup", "entityId": "admins"}}}}
    /// ```
    ///
    /// or the same flat: `{"policyId", "policyTemplateId" (or "templateId"), "principal",
    /// "resource"}`; other keys of a `PolicyItem` (`policyStoreId`, `createdDate`, …) are
    /// ignored. The template is the template whose `@id` annotation is `policyTemplateId`, else
    /// the one of that Cedar id (`policy3`); `principal` and `resource` fill `?principal` and
    /// `?resource`, their ids as written (the entity prefix included). The link's `policyId`
    /// names the linked policy in decisions. An unknown template, a static policy (its
    /// statement belongs in the policy file), a slot missing or too many, an entity type the
    /// schema does not declare, or a `policyId` already naming a policy fails, naming the
    /// setting, the file, the link (`link #2 (`admins-write`)`) and Cedar's message.
    pub fn link(&mut self, links: Source<'_>) -> Result<usize, String> {
        let file = |message: String| format!("{}: {}: {message}", links.setting, links.path);
        let document: Value = serde_json::from_str(links.text).map_err(|e| {
            format!(
                "{}: {}:{}:{}: {e}",
                links.setting,
                links.path,
                e.line(),
                e.column()
            )
        })?;
        let shape = "expected a JSON list of links, or `{\"policies\": [...]}` as `aws \
                     verifiedpermissions list-policies` writes it";
        let items = match document {
            Value::Array(items) => items,
            Value::Object(mut listed) => {
                // One page of a paginated listing: a missing `forbid` link would grant more.
                if listed.get("nextToken").is_some_and(|t| !t.is_null()) {
                    return Err(file(
                        "`nextToken` is set: this is one page of the listing; list every page \
                         (the AWS CLI does unless told `--max-items`)"
                            .into(),
                    ));
                }
                match listed.remove("policies") {
                    Some(Value::Array(items)) => items,
                    _ => return Err(file(shape.into())),
                }
            }
            _ => return Err(file(shape.into())),
        };
        let mut taken: HashSet<String> = self
            .policies
            .policies()
            .filter_map(|p| p.annotation("id").map(str::to_owned))
            .chain(self.templates())
            .collect();
        let mut linked = 0;
        for (i, item) in items.into_iter().enumerate() {
            let id = item
                .get("policyId")
                .and_then(Value::as_str)
                .map(|id| format!(" (`{id}`)"))
                .unwrap_or_default();
            let at = |message: String| {
                format!(
                    "{}: {}: link #{}{id}: {message}",
                    links.setting,
                    links.path,
                    i + 1
                )
            };
            let link = RawLink::deserialize(&item)
                .map_err(|e| at(e.to_string()))?
                .resolve()
                .map_err(at)?;
            let template = self.template_named(&link.template).map_err(at)?;
            let mut values = HashMap::new();
            for (slot, entity) in [
                (SlotId::principal(), link.principal),
                (SlotId::resource(), link.resource),
            ] {
                if let Some(entity) = entity {
                    values.insert(slot, self.entity(&entity).map_err(at)?);
                }
            }
            if link.id.is_empty() {
                return Err(at("`policyId` is empty".into()));
            }
            if !taken.insert(link.id.clone()) {
                return Err(at(format!(
                    "`{}` already names a policy or a link (decisions name policies by it)",
                    link.id
                )));
            }
            self.policies
                .link(template, PolicyId::new(&link.id), values)
                .map_err(|e| at(with_causes(&e)))?;
            linked += 1;
        }
        Ok(linked)
    }

    /// The template `name` designates: the one annotated `@id("name")`, else Cedar's id.
    fn template_named(&self, name: &str) -> Result<PolicyId, String> {
        let annotated: Vec<&PolicyId> = self
            .policies
            .templates()
            .filter(|t| t.annotation("id") == Some(name))
            .map(|t| t.id())
            .collect();
        match annotated.as_slice() {
            [id] => return Ok((*id).clone()),
            [] => {}
            _ => return Err(format!("several templates are annotated `@id(\"{name}\")`")),
        }
        let id = PolicyId::new(name);
        if self.policies.template(&id).is_some() {
            return Ok(id);
        }
        let is_static = self.policies.policies().any(|p| {
            p.is_static() && (p.annotation("id") == Some(name) || p.id().to_string() == name)
        });
        Err(match is_static {
            true => format!(
                "`{name}` is a static policy, not a template (no `?principal` or `?resource`)"
            ),
            false => format!(
                "the policy file has no template `{name}` (by `@id` annotation or Cedar's id)"
            ),
        })
    }

    /// A link's entity, of a type the schema declares.
    fn entity(&self, entity: &RawEntity) -> Result<EntityUid, String> {
        let ty = EntityTypeName::from_str(&entity.entity_type)
            .map_err(|e| format!("`{}` is not a Cedar entity type: {e}", entity.entity_type))?;
        if !self.schema.entity_types().any(|t| *t == ty) {
            return Err(format!("the schema declares no entity type `{ty}`"));
        }
        Ok(EntityUid::from_type_name_and_id(
            ty,
            EntityId::new(&entity.entity_id),
        ))
    }

    /// The principal and its groups for `claims`.
    fn principal(&self, claims: &Claims) -> Result<Vec<Entity>, String> {
        let uid = |ty: &str, id: &str| -> Result<EntityUid, String> {
            Ok(EntityUid::from_type_name_and_id(
                entity_type(&self.namespace, ty)?,
                EntityId::new(format!("{}{id}", self.prefix)),
            ))
        };
        let groups: Vec<String> = match self.groups_claim.as_deref().and_then(|c| claims.get(c)) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        let mut parents = HashSet::with_capacity(groups.len());
        let mut entities = Vec::with_capacity(groups.len() + 1);
        for g in &groups {
            let group = uid("UserGroup", g)?;
            // A group listed twice is one entity (Cedar refuses duplicate entities).
            if parents.insert(group.clone()) {
                entities.push(Entity::new_no_attrs(group, HashSet::new()));
            }
        }
        let mut attrs = HashMap::new();
        for (name, kind) in &self.attributes {
            let value = match name.as_str() {
                "sub" => claims.sub.clone().map(RestrictedExpression::new_string),
                "iss" => Some(RestrictedExpression::new_string(claims.iss.clone())),
                "client_id" => claims
                    .client_id
                    .clone()
                    .map(RestrictedExpression::new_string),
                "scopes" => Some(RestrictedExpression::new_set(
                    claims
                        .scopes
                        .iter()
                        .cloned()
                        .map(RestrictedExpression::new_string),
                )),
                other => claims.all.get(other).and_then(|v| typed(v, *kind)),
            };
            if let Some(value) = value {
                attrs.insert(name.clone(), value);
            }
        }
        let principal = Entity::new(uid("User", claims.principal())?, attrs, parents)
            // Cedar's message names the principal's uid (the `sub`): not logged.
            .map_err(|_| "the principal's entity could not be built".to_owned())?;
        entities.push(principal);
        Ok(entities)
    }
}

/// One item of the links file (see [`CedarPolicies::link`]): Verified Permissions' `PolicyItem`
/// (its other keys ignored), or the link's fields at the top.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLink {
    policy_id: String,
    policy_type: Option<String>,
    #[serde(alias = "templateId")]
    policy_template_id: Option<String>,
    /// Flat shape: the slots. In a `PolicyItem` these describe the policy's scope (a
    /// template's fixed `resource ==` included), so only `definition.templateLinked` is read.
    principal: Option<Value>,
    resource: Option<Value>,
    definition: Option<RawDefinition>,
}

/// `PolicyItem.definition`: a union of `static` and `templateLinked`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDefinition {
    #[serde(rename = "static")]
    static_policy: Option<serde::de::IgnoredAny>,
    template_linked: Option<RawTemplateLinked>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawTemplateLinked {
    policy_template_id: String,
    principal: Option<RawEntity>,
    resource: Option<RawEntity>,
}

/// Verified Permissions' `EntityIdentifier`.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawEntity {
    entity_type: String,
    entity_id: String,
}

/// A link of the file, its two shapes merged.
struct Link {
    id: String,
    template: String,
    principal: Option<RawEntity>,
    resource: Option<RawEntity>,
}

impl RawLink {
    fn resolve(self) -> Result<Link, String> {
        let given = self.definition.is_some();
        let definition = self.definition.unwrap_or(RawDefinition {
            static_policy: None,
            template_linked: None,
        });
        if self.policy_type.as_deref() == Some("STATIC") || definition.static_policy.is_some() {
            return Err(
                "a static policy: its statement belongs in the policy file; list only \
                        template-linked policies (`--filter policyType=TEMPLATE_LINKED`)"
                    .into(),
            );
        }
        if let Some(other) = self
            .policy_type
            .as_deref()
            .filter(|t| *t != "TEMPLATE_LINKED")
        {
            return Err(format!(
                "`policyType` `{other}`: expected `TEMPLATE_LINKED`"
            ));
        }
        match definition.template_linked {
            Some(t) => Ok(Link {
                id: self.policy_id,
                template: t.policy_template_id,
                principal: t.principal,
                resource: t.resource,
            }),
            None if given => Err("`definition` has no `templateLinked`".into()),
            None => {
                let entity = |v: Option<Value>, what: &str| {
                    v.map(|v| RawEntity::deserialize(v).map_err(|e| format!("`{what}`: {e}")))
                        .transpose()
                };
                Ok(Link {
                    id: self.policy_id,
                    template: self
                        .policy_template_id
                        .ok_or("no `policyTemplateId` (nor `definition.templateLinked`)")?,
                    principal: entity(self.principal, "principal")?,
                    resource: entity(self.resource, "resource")?,
                })
            }
        }
    }
}

/// A claim value as the declared attribute kind, when it has that JSON type.
fn typed(v: &Value, kind: AttrKind) -> Option<RestrictedExpression> {
    match (kind, v) {
        (AttrKind::String, Value::String(s)) => Some(RestrictedExpression::new_string(s.clone())),
        (AttrKind::Long, Value::Number(n)) => n.as_i64().map(RestrictedExpression::new_long),
        (AttrKind::Boolean, Value::Bool(b)) => Some(RestrictedExpression::new_bool(*b)),
        (AttrKind::StringSet, Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(|s| RestrictedExpression::new_string(s.to_owned()))
            })
            .collect::<Option<Vec<_>>>()
            .map(RestrictedExpression::new_set),
        _ => None,
    }
}

/// The attributes the schema (as JSON) declares on `NS::User`, of the kinds the mapping sets.
fn user_attributes(json: &Value, namespace: &str) -> Vec<(String, AttrKind)> {
    let Some(attrs) = json
        .pointer(&format!(
            "/{}/entityTypes/User/shape/attributes",
            escape(namespace)
        ))
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    fn kind(t: &Value) -> Option<AttrKind> {
        let name = match t.get("type")?.as_str()? {
            // A type name resolved later (the human format writes every name this way).
            "EntityOrCommon" => t.get("name")?.as_str()?,
            "Set" => {
                return (kind(t.get("element")?)? == AttrKind::String)
                    .then_some(AttrKind::StringSet);
            }
            other => other,
        };
        match name.trim_start_matches("__cedar::") {
            "String" => Some(AttrKind::String),
            "Long" => Some(AttrKind::Long),
            "Bool" | "Boolean" => Some(AttrKind::Boolean),
            _ => None,
        }
    }
    let mut out: Vec<(String, AttrKind)> = attrs
        .iter()
        .filter_map(|(name, t)| kind(t).map(|k| (name.clone(), k)))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// An error's message with its causes' (Cedar's `unable to link template: …`).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        message.push_str(&format!(": {c}"));
        cause = c.source();
    }
    message
}

/// A JSON Pointer token.
fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn entity_type(namespace: &str, name: &str) -> Result<EntityTypeName, String> {
    EntityTypeName::from_str(&format!("{namespace}::{name}"))
        .map_err(|e| format!("`{namespace}` is not a Cedar namespace: {e}"))
}

impl CedarRoute {
    /// The route's action (`NS::Action::"get /pets"`).
    pub fn action(&self) -> &EntityUid {
        &self.action
    }

    /// Cedar's answer for the principal of `claims`. Any failure to build the request denies.
    pub fn decide(&self, claims: &Claims) -> CedarAnswer {
        let p = &self.policies;
        let denied = |why: String| CedarAnswer {
            allowed: false,
            reasons: Vec::new(),
            errors: vec![why],
        };
        let mut entities = match p.principal(claims) {
            Ok(e) => e,
            Err(e) => return denied(e),
        };
        let principal = match entities.last() {
            Some(e) => e.uid(),
            None => return denied("no principal".into()),
        };
        entities.extend(p.actions.get(&self.action).into_iter().flatten().cloned());
        let resource = match entity_type(&p.namespace, "Application") {
            Ok(ty) => EntityUid::from_type_name_and_id(ty, EntityId::new(&p.namespace)),
            Err(e) => return denied(e),
        };
        let entities = match Entities::from_entities(entities, None) {
            Ok(e) => e,
            // Cedar's messages name entity uids (claim values): not logged.
            Err(_) => return denied("the request's entities could not be built".into()),
        };
        let request = match Request::new(
            principal,
            self.action.clone(),
            resource,
            Context::empty(),
            None,
        ) {
            Ok(r) => r,
            Err(_) => return denied("the request could not be built".into()),
        };
        let response = p
            .authorizer
            .is_authorized(&request, &self.sliced, &entities);
        // A static policy by its `@id`, a linked one by its link id (it shares its template's
        // annotations, so several links would read alike).
        let name = |id: &PolicyId| {
            self.sliced
                .policy(id)
                .filter(|policy| policy.is_static())
                .and_then(|policy| policy.annotation("id").map(str::to_owned))
                .unwrap_or_else(|| id.to_string())
        };
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| match e {
                AuthorizationError::PolicyEvaluationError(e) => name(e.policy_id()),
            })
            .collect();
        CedarAnswer {
            // Fail closed: an erring policy (a `forbid` that could not be evaluated) denies.
            allowed: response.decision() == Decision::Allow && errors.is_empty(),
            reasons: response.diagnostics().reason().map(name).collect(),
            errors,
        }
    }
}

#[cfg(test)]
mod tests;
