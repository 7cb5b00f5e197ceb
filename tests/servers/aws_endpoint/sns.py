"""SNS back end: topics and subscriptions per region (CreateTopic, Subscribe,
ListSubscriptionsByTopic, Unsubscribe, DeleteTopic, ListTopics, GetTopicAttributes).

CreateTopic is idempotent by name (different attributes for an existing name are
InvalidParameter), DeleteTopic of a missing topic succeeds, as AWS documents. email,
http and https subscriptions start "pending confirmation" (ConfirmSubscription is done
through the control API); Subscribe returns the ARN only with ReturnSubscriptionArn.
Notifications that CloudWatch alarm actions publish are recorded per topic.
"""

import base64
import copy
import re

from .backend import Backend
from .errors import model_error
from .validation import coral_message

_TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_FIFO_RE = re.compile(r"^[A-Za-z0-9_-]{1,251}\.fifo$")
TOPIC_ATTRIBUTES = {
    "DeliveryPolicy", "DisplayName", "FifoTopic", "Policy", "SignatureVersion", "TracingConfig",
    "KmsMasterKeyId", "ContentBasedDeduplication",
}
PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")
NEEDS_CONFIRMATION = ("http", "https", "email", "email-json")
PAGE = 100


class SnsBackend(Backend):
    signing_name = "sns"

    def __init__(self, ctx, model):
        super().__init__(ctx, model)
        self.topics = {}  # arn -> record
        self.notifications = []

    def validation_error(self, op, violations):
        return model_error(op, "InvalidParameterException", "Invalid parameter: %s" % coral_message(violations))

    def shape_error(self, op, err):
        return model_error(op, "InvalidParameterException", "Invalid parameter: %s (%s)" % (err.path, err.reason))

    def _invalid(self, call, what):
        return model_error(call.op, "InvalidParameterException", "Invalid parameter: %s" % what)

    def dump(self):
        return {"topics": copy.deepcopy(self.topics), "notifications": copy.deepcopy(self.notifications)}

    def load(self, data):
        self.topics = copy.deepcopy(data.get("topics", {}))
        self.notifications = copy.deepcopy(data.get("notifications", []))

    def _topic(self, call, arn):
        parts = arn.split(":")
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "sns"] or parts[3] != call.region:
            raise self._invalid(call, "TopicArn")
        rec = self.topics.get(arn)
        if rec is None:
            raise model_error(call.op, "NotFoundException", "Topic does not exist")
        return rec

    def op_CreateTopic(self, call):
        p = call.params
        name = p["Name"]
        attrs = dict(p.get("Attributes", {}))
        fifo = attrs.get("FifoTopic", "false").lower() == "true"
        if not (_FIFO_RE.match(name) if fifo else _TOPIC_RE.match(name)):
            raise self._invalid(call, "Topic Name")
        for key in attrs:
            if key not in TOPIC_ATTRIBUTES:
                raise self._invalid(call, "Attributes Reason: Unknown attribute %s" % key[:100])
        arn = "arn:aws:sns:%s:%s:%s" % (call.region, self.ctx.account_id, name)
        existing = self.topics.get(arn)
        if existing is not None:
            if attrs and attrs != existing["attributes"]:
                raise self._invalid(call, "Attributes Reason: Topic already exists with different attributes")
            return {"TopicArn": arn}
        self.topics[arn] = {
            "arn": arn,
            "region": call.region,
            "name": name,
            "attributes": attrs,
            "tags": copy.deepcopy(p.get("Tags", [])),
            "subscriptions": [],
        }
        return {"TopicArn": arn}

    def op_Subscribe(self, call):
        p = call.params
        rec = self._topic(call, p["TopicArn"])
        protocol = p["Protocol"]
        endpoint = p.get("Endpoint", "")
        if protocol not in PROTOCOLS:
            raise self._invalid(call, "Amazon SNS does not support this protocol string: %s" % protocol[:40])
        if protocol in ("email", "email-json") and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", endpoint):
            raise self._invalid(call, "Email address")
        if protocol in ("http", "https") and not endpoint.lower().startswith(protocol + "://"):
            raise self._invalid(call, "Endpoint must match the specified protocol")
        if protocol in ("sqs", "lambda", "firehose") and not endpoint.startswith("arn:"):
            raise self._invalid(call, "Endpoint must be an ARN for protocol %s" % protocol)
        for sub in rec["subscriptions"]:
            if sub["protocol"] == protocol and sub["endpoint"] == endpoint:
                return {"SubscriptionArn": self._shown_arn(sub, p.get("ReturnSubscriptionArn", False))}
        sub = {
            "arn": "%s:%s" % (rec["arn"], self.ctx.uuid4()),
            "protocol": protocol,
            "endpoint": endpoint,
            "confirmed": protocol not in NEEDS_CONFIRMATION,
            "attributes": dict(p.get("Attributes", {})),
        }
        rec["subscriptions"].append(sub)
        return {"SubscriptionArn": self._shown_arn(sub, p.get("ReturnSubscriptionArn", False))}

    def _shown_arn(self, sub, return_arn):
        if sub["confirmed"] or return_arn:
            return sub["arn"]
        return "pending confirmation"

    def confirm_all(self):
        """Confirm every pending subscription (control API; stands in for the user clicking the link)."""
        with self.ctx.lock:
            n = 0
            for rec in self.topics.values():
                for sub in rec["subscriptions"]:
                    if not sub["confirmed"]:
                        sub["confirmed"] = True
                        n += 1
            return n

    def op_ListSubscriptionsByTopic(self, call):
        rec = self._topic(call, call.params["TopicArn"])
        start = _token(call, call.params.get("NextToken"), self._invalid)
        subs = rec["subscriptions"][start : start + PAGE]
        out = {
            "Subscriptions": [
                {
                    "SubscriptionArn": s["arn"] if s["confirmed"] else "PendingConfirmation",
                    "Owner": self.ctx.account_id,
                    "Protocol": s["protocol"],
                    "Endpoint": s["endpoint"],
                    "TopicArn": rec["arn"],
                }
                for s in subs
            ]
        }
        if start + PAGE < len(rec["subscriptions"]):
            out["NextToken"] = base64.b64encode(("subs:%d" % (start + PAGE)).encode()).decode()
        return out

    def op_Unsubscribe(self, call):
        arn = call.params["SubscriptionArn"]
        for rec in self.topics.values():
            for sub in rec["subscriptions"]:
                if sub["arn"] == arn:
                    rec["subscriptions"].remove(sub)
                    return {}
        raise model_error(call.op, "NotFoundException", "Subscription does not exist")

    def op_DeleteTopic(self, call):
        arn = call.params["TopicArn"]
        parts = arn.split(":")
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "sns"] or parts[3] != call.region:
            raise self._invalid(call, "TopicArn")
        self.topics.pop(arn, None)
        return {}

    def op_ListTopics(self, call):
        arns = sorted(a for a, r in self.topics.items() if r["region"] == call.region)
        start = _token(call, call.params.get("NextToken"), self._invalid)
        out = {"Topics": [{"TopicArn": a} for a in arns[start : start + PAGE]]}
        if start + PAGE < len(arns):
            out["NextToken"] = base64.b64encode(("subs:%d" % (start + PAGE)).encode()).decode()
        return out

    def op_GetTopicAttributes(self, call):
        rec = self._topic(call, call.params["TopicArn"])
        attrs = {
            "TopicArn": rec["arn"],
            "Owner": self.ctx.account_id,
            "DisplayName": rec["attributes"].get("DisplayName", ""),
            "SubscriptionsConfirmed": str(sum(1 for s in rec["subscriptions"] if s["confirmed"])),
            "SubscriptionsPending": str(sum(1 for s in rec["subscriptions"] if not s["confirmed"])),
            "SubscriptionsDeleted": "0",
        }
        for k, v in rec["attributes"].items():
            attrs.setdefault(k, v)
        return {"Attributes": attrs}

    def notify(self, topic_arn, subject, message):
        """Record a notification an alarm action published (called under ctx.lock)."""
        rec = self.topics.get(topic_arn)
        self.notifications.append(
            {
                "topic": topic_arn,
                "subject": subject,
                "message": message,
                "at": self.ctx.now(),
                "delivered_to": [s["endpoint"] for s in rec["subscriptions"] if s["confirmed"]] if rec else [],
                "topic_exists": rec is not None,
            }
        )


def _token(call, token, invalid):
    if not token:
        return 0
    try:
        return int(base64.b64decode(token).decode().split(":", 1)[1])
    except (ValueError, IndexError, UnicodeError):
        raise invalid(call, "NextToken") from None
