"""What every service back end shares: the server context, the call, the base class.

A back end owns its service's state (plain JSON-able dicts, timestamps as epoch floats,
so dump/load is json). All state access happens under ctx.lock. Status changes that
hooks care about are appended to call.events (or the ticker's list) and fired by the
dispatcher after the lock is released, before the answer is sent.
"""

import random
import string
import threading
import time
import uuid

from .errors import ApiError


class Settings:
    """Knobs the tests turn (command line or PUT /__control/settings)."""

    FIELDS = {
        "deploy_polls": int,
        "deploy_seconds": float,
        "service_polls": int,
        "service_seconds": float,
        "max_origin_read_timeout": int,
    }

    def __init__(self):
        self.deploy_polls = 3
        self.deploy_seconds = None
        self.service_polls = 3
        self.service_seconds = None
        # CloudFront's default quota; 180 after a quota increase.
        self.max_origin_read_timeout = 60

    def update(self, values):
        for key, value in values.items():
            if key not in self.FIELDS:
                raise ValueError("unknown setting %s (known: %s)" % (key, ", ".join(sorted(self.FIELDS))))
            if value is not None:
                value = self.FIELDS[key](value)
                if value < 0:
                    raise ValueError("%s must not be negative" % key)
            if key in ("deploy_polls", "service_polls", "max_origin_read_timeout") and value is None:
                raise ValueError("%s needs a value" % key)
            setattr(self, key, value)

    def to_json(self):
        return {k: getattr(self, k) for k in self.FIELDS}


class Context:
    """Shared by the back ends: lock, account, settings, clock, id generator."""

    def __init__(self, account_id="123456789012", seed=None):
        self.lock = threading.RLock()
        self.account_id = account_id
        self.settings = Settings()
        self.clock_offset = 0.0
        self.rng = random.Random(seed)

    def now(self):
        return time.time() + self.clock_offset

    def random_chars(self, n, alphabet=string.ascii_uppercase + string.digits):
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def uuid4(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


class Call:
    """One API call after parsing: operation, parameters, region, the raw request."""

    def __init__(self, op, params, region, req, access_key):
        self.op = op
        self.params = params
        self.region = region
        self.req = req
        self.access_key = access_key
        self.events = []


class Backend:
    """Base: dispatch to op_<Operation> methods; subclasses define the error mapping."""

    signing_name = None

    def __init__(self, ctx, model):
        self.ctx = ctx
        self.model = model

    def supports(self, op_name):
        return hasattr(self, "op_" + op_name)

    def handle(self, call):
        method = getattr(self, "op_" + call.op.name, None)
        if method is None:
            raise ApiError(
                "InvalidAction",
                "%s is not implemented by this local endpoint." % call.op.name,
                status=400,
            )
        with self.ctx.lock:
            return method(call)

    def tick(self, now, events):
        """Time-based transitions (called by the ticker and before each request)."""

    def validation_error(self, op, violations):
        raise NotImplementedError

    def shape_error(self, op, err):
        raise NotImplementedError

    def dump(self):
        return {}

    def load(self, data):
        raise NotImplementedError
