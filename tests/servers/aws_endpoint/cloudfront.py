"""CloudFront back end: distributions, their ETags, status and tags.

Semantics follow the CloudFront API reference for 2020-05-31:
- Create returns 201 with Location and ETag, Status InProgress. A CallerReference seen
  before with an identical DistributionConfig returns the existing distribution; with a
  different one, DistributionAlreadyExists (409).
- Every change (create, update) makes a new ETag and sets InProgress; the distribution is
  Deployed after settings.deploy_polls GetDistribution calls or settings.deploy_seconds.
- Update and Delete need If-Match: missing -> InvalidIfMatchVersion (400), stale ->
  PreconditionFailed (412). Delete of an enabled or not yet Deployed distribution ->
  DistributionNotDisabled (409).
- The DistributionConfig is checked beyond the model as CloudFront does: Quantity equals
  the number of Items (InconsistentQuantities), origin and group ids exist and are unique
  (NoSuchOrigin, InvalidArgument), origin groups have exactly two distinct members and
  failover status codes from CloudFront's list, a behaviour on an origin group allows
  only GET/HEAD/OPTIONS, connection attempts 1-3, connection timeout 1-10, origin read
  timeout 1-60 (InvalidOriginReadTimeout; up to settings.max_origin_read_timeout),
  keep-alive 1-60, managed policy ids exist (NoSuchCachePolicy, ...), cache policy and
  ForwardedValues exclusive, TTL order.
"""

import copy
import json
import re

from .backend import Backend
from .errors import ApiError, model_error

FAILOVER_STATUS_CODES = {400, 403, 404, 416, 500, 502, 503, 504}
GROUP_METHODS = {"GET", "HEAD", "OPTIONS"}
ALLOWED_METHOD_SETS = [
    {"GET", "HEAD"},
    {"GET", "HEAD", "OPTIONS"},
    {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"},
]
CACHED_METHOD_SETS = [{"GET", "HEAD"}, {"GET", "HEAD", "OPTIONS"}]

# AWS managed policies (ids are the same in every account).
MANAGED_CACHE_POLICIES = {
    "658327ea-f89d-4fab-a63d-7e88639e58f6": "Managed-CachingOptimized",
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": "Managed-CachingDisabled",
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": "Managed-CachingOptimizedForUncompressedObjects",
    "08627262-05a9-4f76-9ded-b50ca2e3a84f": "Managed-Elemental-MediaPackage",
    "2e54312d-136d-493c-8eb9-b001f22f67d2": "Managed-Amplify",
}
MANAGED_ORIGIN_REQUEST_POLICIES = {
    "216adef6-5c7f-47e4-b989-5492eafa07d3": "Managed-AllViewer",
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": "Managed-AllViewerExceptHostHeader",
    "33f36d7e-f396-46d9-90e0-52428a34d9dc": "Managed-AllViewerAndCloudFrontHeaders-2022-06",
    "59781a5b-3903-41f3-afcb-af62929ccde1": "Managed-CORS-CustomOrigin",
    "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": "Managed-CORS-S3Origin",
    "acba4595-bd28-49b8-b9fe-13317c0390fa": "Managed-UserAgentRefererHeaders",
    "775133bc-15f2-49f9-abea-afb2e0bf67d2": "Managed-Elemental-MediaTailor-PersonalizedManifests",
}
MANAGED_RESPONSE_HEADERS_POLICIES = {
    "60669652-455b-4ae9-85a4-c4c02393f86c": "Managed-SimpleCORS",
    "5cc3b908-e619-4b99-88e5-2cf7f45965bd": "Managed-CORS-With-Preflight",
    "67f7725c-6f97-4210-82d7-5512b31e9d03": "Managed-SecurityHeadersPolicy",
    "e61eb60c-9c35-4d20-a928-2b84e02af89c": "Managed-CORS-and-SecurityHeadersPolicy",
    "eaab4381-ed33-4a86-88ca-d9558dc6cd63": "Managed-CORS-with-preflight-and-SecurityHeadersPolicy",
}
_HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
MAX_ORIGIN_GROUPS = 10
MAX_TAGS = 50


def _items(block):
    if not block:
        return []
    return block.get("Items") or []


class CloudFrontBackend(Backend):
    signing_name = "cloudfront"

    def __init__(self, ctx, model):
        super().__init__(ctx, model)
        self.distributions = {}  # id -> record
        self.order = []  # ids in creation order

    # ---- error mapping ------------------------------------------------------------
    def validation_error(self, op, violations):
        v = violations[0]
        payload = op.input_shape.serialization.get("payload") if op.input_shape else None
        if v.kind == "missing" and v.path == payload and _has_error(op, "MissingBody"):
            return model_error(
                op,
                "MissingBody",
                "This operation requires a body. Ensure that the body is present and the "
                "Content-Type header is set.",
            )
        if v.kind in ("missing", "unknown", "type"):
            return ApiError("MalformedInput", _malformed_message(v), status=400)
        if _has_error(op, "InvalidArgument"):
            return model_error(op, "InvalidArgument", "The parameter %s is invalid: %s" % (_short(v.path), v.message))
        return ApiError("InvalidArgument", v.message, status=400)

    def shape_error(self, op, err):
        # Bodies that are not the model's XML, and query or header values that do not
        # parse as their type, are both MalformedInput at CloudFront.
        return ApiError("MalformedInput", "%s (at %s)" % (err.reason, err.path), status=400)

    def _err(self, call, shape, message):
        return model_error(call.op, shape, message)

    # ---- state ------------------------------------------------------------------
    def dump(self):
        return {"distributions": copy.deepcopy(self.distributions), "order": list(self.order)}

    def load(self, data):
        self.distributions = copy.deepcopy(data.get("distributions", {}))
        self.order = list(data.get("order", list(self.distributions)))

    def _new_etag(self):
        return "E" + self.ctx.random_chars(13)

    def _arn(self, dist_id):
        return "arn:aws:cloudfront::%s:distribution/%s" % (self.ctx.account_id, dist_id)

    def _changed(self, rec):
        rec["etag"] = self._new_etag()
        rec["status"] = "InProgress"
        rec["polls"] = 0
        rec["changed_at"] = self.ctx.now()
        rec["last_modified"] = self.ctx.now()

    def tick(self, now, events):
        seconds = self.ctx.settings.deploy_seconds
        if seconds is None:
            return
        for rec in self.distributions.values():
            if rec["status"] == "InProgress" and now - rec["changed_at"] >= seconds:
                rec["status"] = "Deployed"

    def _get(self, call, dist_id):
        rec = self.distributions.get(dist_id)
        if rec is None:
            raise self._err(call, "NoSuchDistribution", "The specified distribution does not exist.")
        return rec

    def _distribution(self, rec):
        return {
            "Id": rec["id"],
            "ARN": rec["arn"],
            "Status": rec["status"],
            "LastModifiedTime": rec["last_modified"],
            "InProgressInvalidationBatches": 0,
            "DomainName": rec["domain"],
            "ActiveTrustedSigners": {"Enabled": False, "Quantity": 0},
            "ActiveTrustedKeyGroups": {"Enabled": False, "Quantity": 0},
            "DistributionConfig": copy.deepcopy(rec["config"]),
        }

    def _check_if_match(self, call, rec):
        if_match = call.params.get("IfMatch")
        if not if_match:
            raise self._err(call, "InvalidIfMatchVersion", "The If-Match version is missing or not valid for the resource.")
        if if_match != rec["etag"]:
            raise self._err(
                call,
                "PreconditionFailed",
                "The precondition given in one or more of the request-header fields evaluated to false.",
            )

    # ---- operations ---------------------------------------------------------------
    def op_CreateDistribution(self, call):
        return self._create(call, call.params["DistributionConfig"], None)

    def op_CreateDistributionWithTags(self, call):
        wrapped = call.params["DistributionConfigWithTags"]
        tags = _items(wrapped.get("Tags"))
        self._check_tags(call, tags)
        return self._create(call, wrapped["DistributionConfig"], tags)

    def _create(self, call, config, tags):
        self.check_config(call, config)
        ref = config["CallerReference"]
        for rec in self.distributions.values():
            if rec["caller_reference"] == ref:
                if _canonical(rec["submitted"]) == _canonical(config):
                    return self._created_response(rec)
                raise self._err(
                    call,
                    "DistributionAlreadyExists",
                    "The caller reference that you are using to create a distribution is "
                    "associated with another distribution. Already exists: %s" % rec["id"],
                )
        dist_id = "E" + self.ctx.random_chars(13)
        while dist_id in self.distributions:
            dist_id = "E" + self.ctx.random_chars(13)
        rec = {
            "id": dist_id,
            "arn": self._arn(dist_id),
            "domain": "%s.cloudfront.net" % dist_id.lower(),
            "caller_reference": ref,
            "submitted": copy.deepcopy(config),
            "config": complete_config(config),
            "tags": [dict(t) for t in (tags or [])],
            "created_at": self.ctx.now(),
        }
        self._changed(rec)
        self.distributions[dist_id] = rec
        self.order.append(dist_id)
        return self._created_response(rec)

    def _created_response(self, rec):
        return {
            "Distribution": self._distribution(rec),
            "Location": "https://cloudfront.amazonaws.com/2020-05-31/distribution/%s" % rec["id"],
            "ETag": rec["etag"],
        }

    def op_GetDistribution(self, call):
        rec = self._get(call, call.params["Id"])
        if rec["status"] == "InProgress":
            rec["polls"] += 1
            if rec["polls"] >= self.ctx.settings.deploy_polls:
                rec["status"] = "Deployed"
        return {"Distribution": self._distribution(rec), "ETag": rec["etag"]}

    def op_GetDistributionConfig(self, call):
        rec = self._get(call, call.params["Id"])
        return {"DistributionConfig": copy.deepcopy(rec["config"]), "ETag": rec["etag"]}

    def op_UpdateDistribution(self, call):
        rec = self._get(call, call.params["Id"])
        if "DistributionConfig" not in call.params:
            raise self._err(call, "MissingBody", "This operation requires a body. Ensure that the body is present and the Content-Type header is set.")
        self._check_if_match(call, rec)
        config = call.params["DistributionConfig"]
        self.check_config(call, config)
        if config["CallerReference"] != rec["caller_reference"]:
            raise self._err(call, "IllegalUpdate", "The update contains modifications that are not allowed: CallerReference cannot be changed.")
        rec["config"] = complete_config(config)
        self._changed(rec)
        return {"Distribution": self._distribution(rec), "ETag": rec["etag"]}

    def op_DeleteDistribution(self, call):
        rec = self._get(call, call.params["Id"])
        self._check_if_match(call, rec)
        if rec["config"].get("Enabled") or rec["status"] != "Deployed":
            raise self._err(call, "DistributionNotDisabled", "The distribution you are trying to delete has not been disabled.")
        del self.distributions[rec["id"]]
        self.order.remove(rec["id"])
        return {}

    # ---- monitoring subscriptions (the additional CloudWatch metrics) -------------------
    # One per distribution, stored in its record, so it goes when the distribution is deleted.
    # CreateMonitoringSubscription sets the configuration whether or not one exists (AWS
    # documents it as "enables or disables" the metrics, and Terraform's provider updates
    # through it); the model's MonitoringSubscriptionAlreadyExists is never answered here.
    def op_CreateMonitoringSubscription(self, call):
        rec = self._get(call, call.params["DistributionId"])
        sub = copy.deepcopy(call.params.get("MonitoringSubscription") or {})
        rec["monitoring"] = sub
        return {"MonitoringSubscription": copy.deepcopy(sub)}

    def _monitoring(self, call):
        rec = self._get(call, call.params["DistributionId"])
        if rec.get("monitoring") is None:
            raise self._err(
                call,
                "NoSuchMonitoringSubscription",
                "A monitoring subscription does not exist for the specified distribution.",
            )
        return rec

    def op_GetMonitoringSubscription(self, call):
        rec = self._monitoring(call)
        return {"MonitoringSubscription": copy.deepcopy(rec["monitoring"])}

    def op_DeleteMonitoringSubscription(self, call):
        rec = self._monitoring(call)
        rec["monitoring"] = None
        return {}

    def op_ListDistributions(self, call):
        marker = call.params.get("Marker", "")
        max_items = call.params.get("MaxItems")
        if max_items is None:
            limit = 100
        else:
            if not re.match(r"^\d+$", max_items) or int(max_items) < 1:
                raise self._err(call, "InvalidArgument", "The parameter MaxItems must be a positive integer.")
            limit = min(int(max_items), 1000)
        start = 0
        if marker:
            if marker not in self.order:
                raise self._err(call, "InvalidArgument", "The parameter Marker is not a valid marker.")
            start = self.order.index(marker) + 1
        page = self.order[start : start + limit]
        truncated = start + limit < len(self.order)
        listing = {
            "Marker": marker,
            "MaxItems": limit,
            "IsTruncated": truncated,
            "Quantity": len(page),
        }
        if page:
            listing["Items"] = [self._summary(self.distributions[i]) for i in page]
        if truncated:
            listing["NextMarker"] = page[-1]
        return {"DistributionList": listing}

    def _summary(self, rec):
        cfg = rec["config"]
        out = {
            "Id": rec["id"],
            "ARN": rec["arn"],
            "Status": rec["status"],
            "LastModifiedTime": rec["last_modified"],
            "DomainName": rec["domain"],
        }
        for key in (
            "Aliases", "Origins", "OriginGroups", "DefaultCacheBehavior", "CacheBehaviors",
            "CustomErrorResponses", "Comment", "PriceClass", "Enabled", "ViewerCertificate",
            "Restrictions", "WebACLId", "HttpVersion", "IsIPV6Enabled", "Staging",
        ):
            if key in cfg:
                out[key] = copy.deepcopy(cfg[key])
        return out

    def _by_arn(self, call, arn):
        for rec in self.distributions.values():
            if rec["arn"] == arn:
                return rec
        raise self._err(call, "NoSuchResource", "The specified resource %s does not exist." % arn)

    def op_ListTagsForResource(self, call):
        rec = self._by_arn(call, call.params["Resource"])
        return {"Tags": {"Items": [dict(t) for t in rec["tags"]]}}

    def op_TagResource(self, call):
        rec = self._by_arn(call, call.params["Resource"])
        tags = _items(call.params.get("Tags"))
        merged = {t["Key"]: t.get("Value", "") for t in rec["tags"]}
        self._check_tags(call, tags)
        for t in tags:
            merged[t["Key"]] = t.get("Value", "")
        if len(merged) > MAX_TAGS:
            raise self._err(call, "InvalidTagging", "A resource can have at most %d tags." % MAX_TAGS)
        rec["tags"] = [{"Key": k, "Value": v} for k, v in merged.items()]
        return {}

    def op_UntagResource(self, call):
        rec = self._by_arn(call, call.params["Resource"])
        keys = set(_items(call.params.get("TagKeys")))
        rec["tags"] = [t for t in rec["tags"] if t["Key"] not in keys]
        return {}

    def _check_tags(self, call, tags):
        seen = set()
        for t in tags:
            if t["Key"] in seen:
                raise self._err(call, "InvalidTagging", "Duplicate tag key %s." % t["Key"])
            seen.add(t["Key"])
            if t["Key"].lower().startswith("aws:"):
                raise self._err(call, "InvalidTagging", "Tag keys may not start with aws:.")
        if len(tags) > MAX_TAGS:
            raise self._err(call, "InvalidTagging", "A resource can have at most %d tags." % MAX_TAGS)

    # ---- semantic checks ----------------------------------------------------------
    def check_config(self, call, cfg):
        """Raise the ApiError CloudFront answers for a DistributionConfig that the model accepts but AWS does not."""
        err = lambda shape, msg: self._err(call, shape, msg)  # noqa: E731
        bad = lambda msg: err("InvalidArgument", msg)  # noqa: E731
        shape = self.model.shape_for("DistributionConfig")
        where = _inconsistent_quantity(cfg, shape, "DistributionConfig")
        if where:
            raise err("InconsistentQuantities", "The value of Quantity and the size of Items don't match (%s)." % where)
        if not cfg.get("CallerReference"):
            raise bad("The parameter CallerReference is required and must not be empty.")
        if len(cfg.get("Comment", "")) > 128:
            raise bad("The parameter Comment is too long (at most 128 characters).")
        origins = _items(cfg.get("Origins"))
        origin_ids = []
        for o in origins:
            if not o.get("Id"):
                raise bad("The parameter Origin Id must not be empty.")
            if o["Id"] in origin_ids:
                raise bad("The parameter Origin Id must be unique: %s." % o["Id"])
            origin_ids.append(o["Id"])
            self._check_origin(call, o)
        groups = _items(cfg.get("OriginGroups"))
        if len(groups) > MAX_ORIGIN_GROUPS:
            raise err("TooManyOriginGroupsPerDistribution", "Processing your request would cause you to exceed the maximum number of origin groups allowed.")
        group_ids = []
        for g in groups:
            if not g.get("Id"):
                raise bad("The parameter OriginGroup Id must not be empty.")
            if g["Id"] in group_ids or g["Id"] in origin_ids:
                raise bad("The parameter OriginGroup Id must be unique among origins and origin groups: %s." % g["Id"])
            group_ids.append(g["Id"])
            members = [m["OriginId"] for m in _items(g.get("Members"))]
            if len(members) != 2:
                raise bad("An origin group must have exactly 2 members; %s has %d." % (g["Id"], len(members)))
            if members[0] == members[1]:
                raise bad("The members of origin group %s must be two different origins." % g["Id"])
            for m in members:
                if m not in origin_ids:
                    raise err("NoSuchOrigin", "No origin exists with the specified Origin Id: %s (member of origin group %s)." % (m, g["Id"]))
            codes = _items(g.get("FailoverCriteria", {}).get("StatusCodes"))
            for code in codes:
                if code not in FAILOVER_STATUS_CODES:
                    raise bad(
                        "The parameter StatusCode %d is not valid for origin group %s; valid codes are %s."
                        % (code, g["Id"], ", ".join(str(c) for c in sorted(FAILOVER_STATUS_CODES)))
                    )
            if len(set(codes)) != len(codes):
                raise bad("The failover status codes of origin group %s must not repeat." % g["Id"])
        behaviours = [("DefaultCacheBehavior", cfg["DefaultCacheBehavior"])]
        for i, b in enumerate(_items(cfg.get("CacheBehaviors"))):
            behaviours.append(("CacheBehaviors.Items[%d]" % i, b))
        for where, b in behaviours:
            self._check_behaviour(call, where, b, origin_ids, group_ids)
        aliases = _items(cfg.get("Aliases"))
        cert = cfg.get("ViewerCertificate") or {}
        if aliases and not (cert.get("ACMCertificateArn") or cert.get("IAMCertificateId")):
            raise err(
                "InvalidViewerCertificate",
                "To add an alternate domain name (CNAME) to a CloudFront distribution, you must "
                "attach a trusted certificate that validates your authorization to use the domain name.",
            )
        if cfg.get("Staging") and cfg.get("Enabled") is None:
            raise bad("A staging distribution must say whether it is enabled.")

    def _check_origin(self, call, o):
        bad = lambda msg: self._err(call, "InvalidArgument", msg)  # noqa: E731
        if not _HOST_RE.match(o.get("DomainName", "")):
            raise bad("The parameter origin name must be a domain name: %s." % o.get("DomainName", "")[:100])
        if ("S3OriginConfig" in o) == ("CustomOriginConfig" in o):
            raise bad("Origin %s must have exactly one of S3OriginConfig and CustomOriginConfig." % o["Id"])
        path = o.get("OriginPath", "")
        if path and (not path.startswith("/") or path.endswith("/")):
            raise bad("The parameter OriginPath must begin with a slash and not end with one.")
        attempts = o.get("ConnectionAttempts")
        if attempts is not None and not 1 <= attempts <= 3:
            raise bad("The parameter ConnectionAttempts must be between 1 and 3 (origin %s)." % o["Id"])
        timeout = o.get("ConnectionTimeout")
        if timeout is not None and not 1 <= timeout <= 10:
            raise bad("The parameter ConnectionTimeout must be between 1 and 10 seconds (origin %s)." % o["Id"])
        custom = o.get("CustomOriginConfig")
        if custom:
            for port_name in ("HTTPPort", "HTTPSPort"):
                port = custom[port_name]
                if port not in (80, 443) and not 1024 <= port <= 65535:
                    raise bad("The parameter %s must be 80, 443 or 1024-65535 (origin %s)." % (port_name, o["Id"]))
            read = custom.get("OriginReadTimeout")
            limit = self.ctx.settings.max_origin_read_timeout
            if read is not None and not 1 <= read <= limit:
                raise self._err(
                    call,
                    "InvalidOriginReadTimeout",
                    "The read timeout specified for the origin is not valid: %d (1-%d seconds)." % (read, limit),
                )
            keep = custom.get("OriginKeepaliveTimeout")
            if keep is not None and not 1 <= keep <= 60:
                raise self._err(
                    call,
                    "InvalidOriginKeepaliveTimeout",
                    "The keep alive timeout specified for the origin is not valid: %d (1-60 seconds)." % keep,
                )
            if custom.get("OriginProtocolPolicy") != "http-only" and "OriginSslProtocols" in custom:
                if not _items(custom["OriginSslProtocols"]):
                    raise bad("The parameter OriginSslProtocols must list at least one protocol.")

    def _check_behaviour(self, call, where, b, origin_ids, group_ids):
        bad = lambda msg: self._err(call, "InvalidArgument", msg)  # noqa: E731
        target = b.get("TargetOriginId")
        if target not in origin_ids and target not in group_ids:
            raise self._err(call, "NoSuchOrigin", "One or more of your origins or origin groups do not exist: %s (%s.TargetOriginId)." % (target, where))
        allowed = set(_items(b.get("AllowedMethods"))) or {"GET", "HEAD"}
        if "AllowedMethods" in b:
            if allowed not in ALLOWED_METHOD_SETS or len(allowed) != len(_items(b["AllowedMethods"])):
                raise bad("The parameter AllowedMethods of %s is not one of GET,HEAD / GET,HEAD,OPTIONS / all seven methods." % where)
            cached = b["AllowedMethods"].get("CachedMethods")
            if cached:
                cset = set(_items(cached))
                if cset not in CACHED_METHOD_SETS or not cset <= allowed:
                    raise bad("The parameter CachedMethods of %s must be GET,HEAD or GET,HEAD,OPTIONS and a subset of AllowedMethods." % where)
        if target in group_ids and not allowed <= GROUP_METHODS:
            raise bad(
                "The parameter AllowedMethods of %s allows %s, but a cache behavior whose target is "
                "an origin group can only allow GET, HEAD and OPTIONS." % (where, ",".join(sorted(allowed - GROUP_METHODS)))
            )
        policy = b.get("CachePolicyId")
        if policy:
            if policy not in MANAGED_CACHE_POLICIES:
                raise self._err(call, "NoSuchCachePolicy", "The cache policy does not exist: %s." % policy)
            for legacy in ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"):
                if legacy in b:
                    raise bad("The parameter %s cannot be used when a cache policy is associated to %s." % (legacy, where))
        else:
            if "ForwardedValues" not in b:
                raise bad("The parameter ForwardedValues is required when %s has no CachePolicyId." % where)
            if "MinTTL" not in b:
                raise bad("The parameter MinTTL is required when %s has no CachePolicyId." % where)
            ttl = [b.get("MinTTL"), b.get("DefaultTTL", b.get("MinTTL")), b.get("MaxTTL", b.get("DefaultTTL", b.get("MinTTL")))]
            if not ttl[0] <= ttl[1] <= ttl[2]:
                raise self._err(call, "InvalidTTLOrder", "The TTL order specified in %s is not valid: MinTTL <= DefaultTTL <= MaxTTL." % where)
        orp = b.get("OriginRequestPolicyId")
        if orp:
            if orp not in MANAGED_ORIGIN_REQUEST_POLICIES:
                raise self._err(call, "NoSuchOriginRequestPolicy", "The origin request policy does not exist: %s." % orp)
            if not policy:
                raise bad("The parameter OriginRequestPolicyId of %s requires a CachePolicyId." % where)
        rhp = b.get("ResponseHeadersPolicyId")
        if rhp and rhp not in MANAGED_RESPONSE_HEADERS_POLICIES:
            raise self._err(call, "NoSuchResponseHeadersPolicy", "The response headers policy does not exist: %s." % rhp)


def _has_error(op, name):
    return any(s.name == name for s in op.error_shapes)


def _short(path):
    return path.split(".")[-1] if path else "input"


def _malformed_message(v):
    if v.kind == "missing":
        return "Unexpected complex element termination: the required element %s is missing." % v.path
    if v.kind == "unknown":
        return "Unexpected element %s." % v.path
    return "Invalid value at %s." % v.path


def _canonical(value):
    return json.dumps(value, sort_keys=True, default=str)


def _inconsistent_quantity(value, shape, path):
    """Path of the first structure whose Quantity differs from len(Items), or None."""
    if value is None:
        return None
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        if "Quantity" in shape.members and "Items" in shape.members and "Quantity" in value:
            if value["Quantity"] != len(value.get("Items") or []):
                return path
        for name, member in shape.members.items():
            if name in value:
                found = _inconsistent_quantity(value[name], member, "%s.%s" % (path, name))
                if found:
                    return found
    elif t == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            found = _inconsistent_quantity(item, shape.member, "%s[%d]" % (path, i))
            if found:
                return found
    return None


def complete_config(cfg):
    """The DistributionConfig as CloudFront returns it: the request plus its defaults."""
    c = copy.deepcopy(cfg)
    c.setdefault("Aliases", {"Quantity": 0})
    c.setdefault("DefaultRootObject", "")
    c.setdefault("OriginGroups", {"Quantity": 0})
    c.setdefault("CacheBehaviors", {"Quantity": 0})
    c.setdefault("CustomErrorResponses", {"Quantity": 0})
    c.setdefault("Logging", {"Enabled": False, "IncludeCookies": False, "Bucket": "", "Prefix": ""})
    c.setdefault("PriceClass", "PriceClass_All")
    c.setdefault(
        "ViewerCertificate",
        {
            "CloudFrontDefaultCertificate": True,
            "SSLSupportMethod": "vip",
            "MinimumProtocolVersion": "TLSv1",
            "CertificateSource": "cloudfront",
        },
    )
    c.setdefault("Restrictions", {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}})
    c.setdefault("WebACLId", "")
    c.setdefault("HttpVersion", "http2")
    c.setdefault("IsIPV6Enabled", False)
    c.setdefault("ContinuousDeploymentPolicyId", "")
    c.setdefault("Staging", False)
    for o in _items(c.get("Origins")):
        o.setdefault("OriginPath", "")
        o.setdefault("CustomHeaders", {"Quantity": 0})
        o.setdefault("ConnectionAttempts", 3)
        o.setdefault("ConnectionTimeout", 10)
        o.setdefault("OriginShield", {"Enabled": False})
        o.setdefault("OriginAccessControlId", "")
        custom = o.get("CustomOriginConfig")
        if custom is not None:
            custom.setdefault("OriginSslProtocols", {"Quantity": 3, "Items": ["TLSv1", "TLSv1.1", "TLSv1.2"]})
            custom.setdefault("OriginReadTimeout", 30)
            custom.setdefault("OriginKeepaliveTimeout", 5)
    behaviours = [c["DefaultCacheBehavior"]] + _items(c.get("CacheBehaviors"))
    for b in behaviours:
        b.setdefault("TrustedSigners", {"Enabled": False, "Quantity": 0})
        b.setdefault("TrustedKeyGroups", {"Enabled": False, "Quantity": 0})
        b.setdefault(
            "AllowedMethods",
            {"Quantity": 2, "Items": ["HEAD", "GET"], "CachedMethods": {"Quantity": 2, "Items": ["HEAD", "GET"]}},
        )
        b["AllowedMethods"].setdefault("CachedMethods", {"Quantity": 2, "Items": ["HEAD", "GET"]})
        b.setdefault("SmoothStreaming", False)
        b.setdefault("Compress", False)
        b.setdefault("LambdaFunctionAssociations", {"Quantity": 0})
        b.setdefault("FunctionAssociations", {"Quantity": 0})
        b.setdefault("FieldLevelEncryptionId", "")
    return c
