"""App Runner back end: services per region and their asynchronous operations.

Create, pause, resume and delete start an operation and put the service in
OPERATION_IN_PROGRESS; the operation completes (RUNNING, PAUSED, DELETED) after
settings.service_polls DescribeService calls or settings.service_seconds, whichever
comes first. Pausing a service that is not RUNNING, resuming one that is not PAUSED,
or deleting one with an operation in progress is InvalidStateException. Each status
change is an event the status hooks see.
"""

import base64
import copy

from .backend import Backend
from .errors import ApiError, model_error
from .validation import coral_message

DEFAULT_AUTOSCALING = "autoscalingconfiguration/DefaultConfiguration/1/00000000000000000000000000000001"
CPU = {"1024": "1024", "1 vCPU": "1024", "2048": "2048", "2 vCPU": "2048"}
MEMORY = {"2048": "2048", "2 GB": "2048", "3072": "3072", "3 GB": "3072", "4096": "4096", "4 GB": "4096"}
VALID_SIZES = {("1024", "2048"), ("1024", "3072"), ("1024", "4096"), ("2048", "4096")}
TARGET = {
    "CREATE_SERVICE": "RUNNING",
    "PAUSE_SERVICE": "PAUSED",
    "RESUME_SERVICE": "RUNNING",
    "DELETE_SERVICE": "DELETED",
}


class AppRunnerBackend(Backend):
    signing_name = "apprunner"

    def __init__(self, ctx, model):
        super().__init__(ctx, model)
        self.services = {}  # arn -> record
        self.operations = {}  # arn -> [operation summary dicts], newest first

    # ---- error mapping ------------------------------------------------------------
    def validation_error(self, op, violations):
        return model_error(op, "InvalidRequestException", coral_message(violations))

    def shape_error(self, op, err):
        return ApiError("SerializationException", "%s (at %s)" % (err.reason, err.path), status=400)

    def _invalid(self, call, message):
        return model_error(call.op, "InvalidRequestException", message)

    # ---- state ------------------------------------------------------------------
    def dump(self):
        return {"services": copy.deepcopy(self.services), "operations": copy.deepcopy(self.operations)}

    def load(self, data):
        self.services = copy.deepcopy(data.get("services", {}))
        self.operations = copy.deepcopy(data.get("operations", {}))

    def seed_service(self, region, name, status="RUNNING", url=None):
        """A service that already exists (cfdr finds services by name)."""
        with self.ctx.lock:
            for rec in self.services.values():
                if rec["region"] == region and rec["name"] == name:
                    raise ValueError("service %s already exists in %s" % (name, region))
            rec = self._new_record(region, name, _public_image_source(), {}, [])
            rec["status"] = status
            if url:
                rec["url"] = url
            self.services[rec["arn"]] = rec
            self.operations[rec["arn"]] = []
            return self._service(rec)

    def force_status(self, arn_or_name, region, status, events):
        """Set a service's status now (control API); completes any pending operation."""
        with self.ctx.lock:
            rec = self._find_any(arn_or_name, region)
            if rec is None:
                raise KeyError(arn_or_name)
            rec["pending"] = None
            self._set_status(rec, status, events)
            return self._service(rec)

    def _find_any(self, arn_or_name, region):
        if arn_or_name in self.services:
            return self.services[arn_or_name]
        for rec in self.services.values():
            if rec["name"] == arn_or_name and (region is None or rec["region"] == region):
                return rec
        return None

    def _new_record(self, region, name, source, params, tags):
        service_id = self.ctx.random_chars(32, "0123456789abcdef")
        arn = "arn:aws:apprunner:%s:%s:service/%s/%s" % (region, self.ctx.account_id, name, service_id)
        now = self.ctx.now()
        instance = dict(params.get("InstanceConfiguration") or {})
        instance["Cpu"] = CPU.get(instance.get("Cpu", "1024"), instance.get("Cpu"))
        instance["Memory"] = MEMORY.get(instance.get("Memory", "2048"), instance.get("Memory"))
        health = {"Protocol": "TCP", "Path": "/", "Interval": 5, "Timeout": 2, "HealthyThreshold": 1, "UnhealthyThreshold": 5}
        health.update(params.get("HealthCheckConfiguration") or {})
        network = {"EgressConfiguration": {"EgressType": "DEFAULT"}, "IngressConfiguration": {"IsPubliclyAccessible": True}}
        for key, value in (params.get("NetworkConfiguration") or {}).items():
            network[key] = value
        autoscaling_arn = params.get("AutoScalingConfigurationArn") or "arn:aws:apprunner:%s:%s:%s" % (
            region,
            self.ctx.account_id,
            DEFAULT_AUTOSCALING,
        )
        autoscaling_name = autoscaling_arn.split("/")[1] if "/" in autoscaling_arn else "DefaultConfiguration"
        config = {
            "SourceConfiguration": source,
            "InstanceConfiguration": instance,
            "HealthCheckConfiguration": health,
            "NetworkConfiguration": network,
            "AutoScalingConfigurationSummary": {
                "AutoScalingConfigurationArn": autoscaling_arn,
                "AutoScalingConfigurationName": autoscaling_name,
                "AutoScalingConfigurationRevision": 1,
            },
            "ObservabilityConfiguration": params.get("ObservabilityConfiguration") or {"ObservabilityEnabled": False},
        }
        if params.get("EncryptionConfiguration"):
            config["EncryptionConfiguration"] = params["EncryptionConfiguration"]
        return {
            "name": name,
            "id": service_id,
            "arn": arn,
            "region": region,
            "url": "%s.%s.awsapprunner.com" % (self.ctx.random_chars(10, "abcdefghijklmnopqrstuvwxyz0123456789"), region),
            # None until the first operation starts (a new service has had no status).
            "status": None,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
            "config": config,
            "tags": tags,
            "pending": None,
        }

    def _service(self, rec):
        out = {
            "ServiceName": rec["name"],
            "ServiceId": rec["id"],
            "ServiceArn": rec["arn"],
            "ServiceUrl": rec["url"],
            "CreatedAt": rec["created_at"],
            "UpdatedAt": rec["updated_at"],
            "Status": rec["status"],
        }
        if rec["deleted_at"] is not None:
            out["DeletedAt"] = rec["deleted_at"]
        out.update(copy.deepcopy(rec["config"]))
        return out

    def _summary(self, rec):
        return {
            "ServiceName": rec["name"],
            "ServiceId": rec["id"],
            "ServiceArn": rec["arn"],
            "ServiceUrl": rec["url"],
            "CreatedAt": rec["created_at"],
            "UpdatedAt": rec["updated_at"],
            "Status": rec["status"],
        }

    def _event(self, rec, previous):
        return {
            "service": "apprunner",
            "region": rec["region"],
            "name": rec["name"],
            "arn": rec["arn"],
            "status": rec["status"],
            "previous": previous,
            "url": rec["url"],
        }

    def _set_status(self, rec, status, events):
        previous = rec["status"]
        rec["status"] = status
        rec["updated_at"] = self.ctx.now()
        if status == "DELETED":
            rec["deleted_at"] = rec["updated_at"]
        if previous != status:
            events.append(self._event(rec, previous))

    def _start(self, rec, kind, events):
        now = self.ctx.now()
        op = {
            "Id": self.ctx.uuid4(),
            "Type": kind,
            "Status": "IN_PROGRESS",
            "TargetArn": rec["arn"],
            "StartedAt": now,
            "UpdatedAt": now,
        }
        self.operations.setdefault(rec["arn"], []).insert(0, op)
        rec["pending"] = {"op": op["Id"], "kind": kind, "polls": 0, "started_at": now}
        self._set_status(rec, "OPERATION_IN_PROGRESS", events)
        return op["Id"]

    def _complete(self, rec, events):
        pending = rec["pending"]
        rec["pending"] = None
        now = self.ctx.now()
        for op in self.operations.get(rec["arn"], []):
            if op["Id"] == pending["op"]:
                op["Status"] = "SUCCEEDED"
                op["EndedAt"] = now
                op["UpdatedAt"] = now
        self._set_status(rec, TARGET[pending["kind"]], events)

    def tick(self, now, events):
        seconds = self.ctx.settings.service_seconds
        if seconds is None:
            return
        for rec in list(self.services.values()):
            pending = rec["pending"]
            if pending and now - pending["started_at"] >= seconds:
                self._complete(rec, events)

    def _by_arn(self, call, arn):
        rec = self.services.get(arn)
        if rec is None or rec["region"] != call.region or rec.get("gone"):
            raise model_error(call.op, "ResourceNotFoundException", "Cannot find service with arn: %s" % arn)
        return rec

    # ---- operations ---------------------------------------------------------------
    def op_CreateService(self, call):
        p = call.params
        name = p["ServiceName"]
        for rec in self.services.values():
            if rec["region"] == call.region and rec["name"] == name and not rec.get("gone"):
                raise self._invalid(call, "Service with the provided name already exists: %s" % name)
        source = copy.deepcopy(p["SourceConfiguration"])
        self._check_source(call, source)
        self._check_instance(call, p.get("InstanceConfiguration") or {})
        tags = p.get("Tags") or []
        for t in tags:
            if t.get("Key", "").lower().startswith("aws:"):
                raise self._invalid(call, "Tag keys may not start with aws:")
        rec = self._new_record(call.region, name, source, p, tags)
        self.services[rec["arn"]] = rec
        op_id = self._start(rec, "CREATE_SERVICE", call.events)
        return {"Service": self._service(rec), "OperationId": op_id}

    def _check_source(self, call, source):
        has_code = "CodeRepository" in source
        has_image = "ImageRepository" in source
        if has_code == has_image:
            raise self._invalid(call, "SourceConfiguration must specify exactly one of CodeRepository and ImageRepository.")
        if has_image:
            image = source["ImageRepository"]
            auth = source.get("AuthenticationConfiguration") or {}
            if image["ImageRepositoryType"] == "ECR" and not auth.get("AccessRoleArn"):
                raise self._invalid(call, "Authentication configuration is invalid: an ECR image requires AccessRoleArn.")
            if image["ImageRepositoryType"] == "ECR_PUBLIC":
                if source.get("AutoDeploymentsEnabled"):
                    raise self._invalid(call, "Auto deployment is not supported for an ECR_PUBLIC image repository.")
                source["AutoDeploymentsEnabled"] = False
            else:
                source.setdefault("AutoDeploymentsEnabled", True)
            port = (image.get("ImageConfiguration") or {}).get("Port")
            if port is not None and (not port.isdigit() or not 1 <= int(port) <= 65535):
                raise self._invalid(call, "Port must be a number between 1 and 65535: %s" % port[:20])
        else:
            if not (source.get("AuthenticationConfiguration") or {}).get("ConnectionArn"):
                raise self._invalid(call, "A code repository requires AuthenticationConfiguration.ConnectionArn.")
            source.setdefault("AutoDeploymentsEnabled", True)

    def _check_instance(self, call, instance):
        cpu = CPU.get(instance.get("Cpu", "1024"))
        memory = MEMORY.get(instance.get("Memory", "2048"))
        if (cpu, memory) not in VALID_SIZES:
            raise self._invalid(
                call,
                "Invalid combination of Cpu %s and Memory %s." % (instance.get("Cpu", "1024"), instance.get("Memory", "2048")),
            )

    def op_DescribeService(self, call):
        rec = self._by_arn(call, call.params["ServiceArn"])
        if rec["pending"] is not None:
            rec["pending"]["polls"] += 1
            if rec["pending"]["polls"] >= self.ctx.settings.service_polls:
                self._complete(rec, call.events)
        out = {"Service": self._service(rec)}
        if rec["status"] == "DELETED":
            # Reported once; afterwards the service is gone.
            rec["gone"] = True
        return out

    def op_ListServices(self, call):
        limit = call.params.get("MaxResults", 20)
        start = _decode_token(call, call.params.get("NextToken"), self._invalid)
        visible = [r for r in self.services.values() if r["region"] == call.region and not r.get("gone") and r["status"] != "DELETED"]
        visible.sort(key=lambda r: r["created_at"])
        page = visible[start : start + limit]
        out = {"ServiceSummaryList": [self._summary(r) for r in page]}
        if start + limit < len(visible):
            out["NextToken"] = _encode_token(start + limit)
        return out

    def op_PauseService(self, call):
        rec = self._by_arn(call, call.params["ServiceArn"])
        if rec["status"] != "RUNNING":
            raise model_error(call.op, "InvalidStateException", "You can't pause a service that is in %s state." % rec["status"])
        op_id = self._start(rec, "PAUSE_SERVICE", call.events)
        return {"Service": self._service(rec), "OperationId": op_id}

    def op_ResumeService(self, call):
        rec = self._by_arn(call, call.params["ServiceArn"])
        if rec["status"] != "PAUSED":
            raise model_error(call.op, "InvalidStateException", "You can't resume a service that is in %s state." % rec["status"])
        op_id = self._start(rec, "RESUME_SERVICE", call.events)
        return {"Service": self._service(rec), "OperationId": op_id}

    def op_DeleteService(self, call):
        rec = self._by_arn(call, call.params["ServiceArn"])
        if rec["status"] == "OPERATION_IN_PROGRESS":
            raise model_error(
                call.op, "InvalidStateException", "You can't delete a service while an operation is in progress on it."
            )
        op_id = self._start(rec, "DELETE_SERVICE", call.events)
        return {"Service": self._service(rec), "OperationId": op_id}

    def op_ListOperations(self, call):
        rec = self._by_arn(call, call.params["ServiceArn"])
        limit = call.params.get("MaxResults", 20)
        start = _decode_token(call, call.params.get("NextToken"), self._invalid)
        ops = self.operations.get(rec["arn"], [])
        out = {"OperationSummaryList": copy.deepcopy(ops[start : start + limit])}
        if start + limit < len(ops):
            out["NextToken"] = _encode_token(start + limit)
        return out


def _public_image_source():
    return {
        "ImageRepository": {
            "ImageIdentifier": "public.ecr.aws/aws-containers/hello-app-runner:latest",
            "ImageConfiguration": {"Port": "8000"},
            "ImageRepositoryType": "ECR_PUBLIC",
        },
        "AutoDeploymentsEnabled": False,
    }


def _encode_token(offset):
    return base64.urlsafe_b64encode(("apprunner-local:%d" % offset).encode()).decode()


def _decode_token(call, token, invalid):
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        prefix, _, number = text.partition(":")
        if prefix != "apprunner-local" or not number.isdigit():
            raise ValueError(token)
        return int(number)
    except (ValueError, UnicodeError):
        raise invalid(call, "The NextToken is not valid.") from None
