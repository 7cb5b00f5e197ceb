"""CloudWatch back end: metric alarms per region (PutMetricAlarm, DescribeAlarms,
DeleteAlarms, SetAlarmState, ListTagsForResource).

Checks AWS makes beyond the model: a metric alarm names one metric (MetricName,
Namespace, Period, exactly one of Statistic/ExtendedStatistic) or uses Metrics, not
both; Period is 10, 20, 30 or a multiple of 60 and Period x EvaluationPeriods is at
most a day; DatapointsToAlarm <= EvaluationPeriods; TreatMissingData is one of the four
values; alarm actions live in the alarm's region (an SNS topic in another region is
rejected). PutMetricAlarm's Tags are applied when it creates the alarm and ignored when it
updates one (as the API reference says: TagResource changes tags). A state change with actions enabled notifies the SNS topics named by the
actions of the new state (recorded by the SNS back end).
"""

import base64
import copy
import json

from .backend import Backend
from .errors import ApiError, model_error
from .validation import coral_message

TREAT_MISSING = ("breaching", "notBreaching", "ignore", "missing")


def _validation(message):
    return ApiError("ValidationError", message, status=400)


class CloudWatchBackend(Backend):
    signing_name = "monitoring"

    def __init__(self, ctx, model, sns=None):
        super().__init__(ctx, model)
        self.alarms = {}  # region -> {name -> alarm record}
        self.history = []  # state changes, oldest first
        self.sns = sns

    def validation_error(self, op, violations):
        missing = [v for v in violations if v.kind == "missing"]
        if missing:
            return ApiError("MissingParameter", "The parameter %s is required." % missing[0].path, status=400)
        return _validation(coral_message(violations))

    def shape_error(self, op, err):
        return ApiError("InvalidParameterValue", "Invalid value for %s: %s" % (err.path, err.reason), status=400)

    def dump(self):
        return {"alarms": copy.deepcopy(self.alarms), "history": copy.deepcopy(self.history)}

    def load(self, data):
        self.alarms = copy.deepcopy(data.get("alarms", {}))
        self.history = copy.deepcopy(data.get("history", []))

    def _region(self, region):
        return self.alarms.setdefault(region, {})

    def op_PutMetricAlarm(self, call):
        p = call.params
        region = call.region
        if "Metrics" in p:
            for single in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit"):
                if single in p:
                    raise ApiError(
                        "InvalidParameterCombination",
                        "The parameters Metrics and %s are mutually exclusive." % single,
                        status=400,
                    )
        else:
            for needed in ("MetricName", "Namespace", "Period"):
                if needed not in p:
                    raise ApiError("MissingParameter", "The parameter %s is required." % needed, status=400)
            if ("Statistic" in p) == ("ExtendedStatistic" in p):
                raise ApiError(
                    "InvalidParameterCombination",
                    "Exactly one of the parameters Statistic and ExtendedStatistic must be specified.",
                    status=400,
                )
            period = p["Period"]
            if period not in (10, 20, 30) and period % 60 != 0:
                raise _validation("Period must be 10, 20, 30 or a multiple of 60, not %d." % period)
            if period * p["EvaluationPeriods"] > 86400:
                raise _validation("The evaluation period (Period x EvaluationPeriods) must not exceed one day.")
        if "Threshold" not in p and "ThresholdMetricId" not in p:
            raise ApiError("MissingParameter", "The parameter Threshold is required.", status=400)
        if p.get("DatapointsToAlarm", 1) > p["EvaluationPeriods"]:
            raise _validation("DatapointsToAlarm must be less than or equal to EvaluationPeriods.")
        if "TreatMissingData" in p and p["TreatMissingData"] not in TREAT_MISSING:
            raise _validation("TreatMissingData must be one of %s." % ", ".join(TREAT_MISSING))
        for kind in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            for arn in p.get(kind, []):
                self._check_action(arn, region)
        now = self.ctx.now()
        alarms = self._region(region)
        old = alarms.get(p["AlarmName"])
        rec = {
            "params": copy.deepcopy(p),
            "arn": "arn:aws:cloudwatch:%s:%s:alarm:%s" % (region, self.ctx.account_id, p["AlarmName"]),
            "updated": now,
            "state": old["state"] if old else "INSUFFICIENT_DATA",
            "reason": old["reason"] if old else "Unchecked: Initial alarm creation",
            "reason_data": old.get("reason_data") if old else None,
            "state_updated": old["state_updated"] if old else now,
            "created": old["created"] if old else now,
            "tags": copy.deepcopy(old.get("tags", [])) if old else copy.deepcopy(p.get("Tags", [])),
        }
        alarms[p["AlarmName"]] = rec
        return {}

    def _check_action(self, arn, region):
        parts = arn.split(":")
        if len(parts) < 6 or parts[0] != "arn":
            raise _validation("Invalid arn syntax: %s" % arn[:200])
        service, arn_region = parts[2], parts[3]
        if service in ("sns", "automate", "ssm", "ssm-incidents", "autoscaling", "lambda", "swf"):
            if arn_region != region:
                raise _validation("Invalid region %s specified. Only %s is supported." % (arn_region, region))
            if service == "sns" and parts[4] != self.ctx.account_id:
                raise _validation("Invalid account for SNS topic %s." % arn)
        else:
            raise _validation("Invalid action %s." % arn[:200])

    def _alarm(self, rec):
        p = rec["params"]
        out = {
            "AlarmName": p["AlarmName"],
            "AlarmArn": rec["arn"],
            "AlarmConfigurationUpdatedTimestamp": rec["updated"],
            "ActionsEnabled": p.get("ActionsEnabled", True),
            "OKActions": list(p.get("OKActions", [])),
            "AlarmActions": list(p.get("AlarmActions", [])),
            "InsufficientDataActions": list(p.get("InsufficientDataActions", [])),
            "StateValue": rec["state"],
            "StateReason": rec["reason"],
            "StateUpdatedTimestamp": rec["state_updated"],
            "Dimensions": copy.deepcopy(p.get("Dimensions", [])),
            "EvaluationPeriods": p["EvaluationPeriods"],
            "ComparisonOperator": p["ComparisonOperator"],
        }
        if rec.get("reason_data"):
            out["StateReasonData"] = rec["reason_data"]
        for key in (
            "AlarmDescription", "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Period",
            "Unit", "DatapointsToAlarm", "Threshold", "TreatMissingData",
            "EvaluateLowSampleCountPercentile", "Metrics", "ThresholdMetricId",
        ):
            if key in p:
                out[key] = copy.deepcopy(p[key])
        return out

    def op_DescribeAlarms(self, call):
        p = call.params
        if "AlarmNames" in p and "AlarmNamePrefix" in p:
            raise ApiError(
                "InvalidParameterCombination",
                "AlarmNames and AlarmNamePrefix are mutually exclusive.",
                status=400,
            )
        alarms = sorted(self._region(call.region).values(), key=lambda r: r["params"]["AlarmName"])
        if "AlarmNames" in p:
            alarms = [a for a in alarms if a["params"]["AlarmName"] in p["AlarmNames"]]
        if "AlarmNamePrefix" in p:
            alarms = [a for a in alarms if a["params"]["AlarmName"].startswith(p["AlarmNamePrefix"])]
        if "StateValue" in p:
            alarms = [a for a in alarms if a["state"] == p["StateValue"]]
        if "ActionPrefix" in p:
            alarms = [
                a for a in alarms
                if any(x.startswith(p["ActionPrefix"]) for k in ("AlarmActions", "OKActions", "InsufficientDataActions") for x in a["params"].get(k, []))
            ]
        types = p.get("AlarmTypes", ["MetricAlarm"])
        limit = p.get("MaxRecords", 50)
        start = 0
        if p.get("NextToken"):
            try:
                start = int(base64.b64decode(p["NextToken"]).decode().split(":", 1)[1])
            except (ValueError, IndexError, UnicodeError):
                raise model_error(call.op, "InvalidNextToken", "The service cannot process the NextToken.") from None
        out = {"CompositeAlarms": []}
        out["MetricAlarms"] = [self._alarm(a) for a in alarms[start : start + limit]] if "MetricAlarm" in types else []
        if "MetricAlarm" in types and start + limit < len(alarms):
            out["NextToken"] = base64.b64encode(("alarms:%d" % (start + limit)).encode()).decode()
        return out

    def op_DeleteAlarms(self, call):
        alarms = self._region(call.region)
        missing = [n for n in call.params["AlarmNames"] if n not in alarms]
        if missing:
            raise model_error(call.op, "ResourceNotFound", "%d of the alarms do not exist: %s" % (len(missing), ", ".join(missing)))
        for name in call.params["AlarmNames"]:
            del alarms[name]
        return {}

    def op_ListTagsForResource(self, call):
        arn = call.params["ResourceARN"]
        parts = arn.split(":", 6)
        if len(parts) != 7 or parts[0] != "arn" or parts[2] != "cloudwatch" or parts[5] != "alarm":
            raise model_error(call.op, "InvalidParameterValueException", "Invalid ARN %s." % arn[:200])
        rec = self._region(parts[3]).get(parts[6]) if parts[3] == call.region and parts[4] == self.ctx.account_id else None
        if rec is None:
            raise model_error(call.op, "ResourceNotFoundException", "Alarm %s does not exist." % arn[:200])
        return {"Tags": copy.deepcopy(rec.get("tags", []))}

    def op_SetAlarmState(self, call):
        p = call.params
        rec = self._region(call.region).get(p["AlarmName"])
        if rec is None:
            raise model_error(call.op, "ResourceNotFound", "Alarm %s not found" % p["AlarmName"])
        if "StateReasonData" in p:
            try:
                json.loads(p["StateReasonData"])
            except ValueError:
                raise model_error(call.op, "InvalidFormatFault", "StateReasonData is not valid JSON.") from None
        previous = rec["state"]
        rec["state"] = p["StateValue"]
        rec["reason"] = p["StateReason"]
        rec["reason_data"] = p.get("StateReasonData")
        rec["state_updated"] = self.ctx.now()
        self.history.append(
            {
                "region": call.region,
                "alarm": p["AlarmName"],
                "from": previous,
                "to": p["StateValue"],
                "reason": p["StateReason"],
                "at": rec["state_updated"],
            }
        )
        if previous != p["StateValue"] and rec["params"].get("ActionsEnabled", True) and self.sns is not None:
            key = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}[p["StateValue"]]
            message = {
                "AlarmName": p["AlarmName"],
                "AlarmArn": rec["arn"],
                "NewStateValue": p["StateValue"],
                "OldStateValue": previous,
                "NewStateReason": p["StateReason"],
                "Region": call.region,
                "AWSAccountId": self.ctx.account_id,
            }
            for arn in rec["params"].get(key, []):
                if arn.startswith("arn:aws:sns:"):
                    self.sns.notify(arn, "ALARM: \"%s\" in %s" % (p["AlarmName"], call.region), json.dumps(message))
        return {}
