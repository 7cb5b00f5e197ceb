"""The services this endpoint speaks, loaded from AWS's own models (python3-botocore).

A service is known by its SigV4 signing name (the credential scope's service), which is
how requests are routed. Each entry says which botocore model and API version describe
it and which regions may sign for it.
"""

import re
import threading

import botocore.loaders
import botocore.session



class ServiceSpec:
    """One service: signing name, model name and version, region rule."""

    def __init__(self, signing_name, model_name, api_version, global_region=None):
        self.signing_name = signing_name
        self.model_name = model_name
        self.api_version = api_version
        # A global service (CloudFront) is signed for exactly one region.
        self.global_region = global_region


SERVICES = {
    "cloudfront": ServiceSpec("cloudfront", "cloudfront", "2020-05-31", global_region="us-east-1"),
    "apprunner": ServiceSpec("apprunner", "apprunner", "2020-05-15"),
    "monitoring": ServiceSpec("monitoring", "cloudwatch", "2010-08-01"),
    "sns": ServiceSpec("sns", "sns", "2010-03-31"),
}

_lock = threading.Lock()
_session = None
_cache = {}
_region_re = None


def service_model(signing_name):
    """Return the botocore ServiceModel for a signing name (cached, thread safe)."""
    global _session
    spec = SERVICES[signing_name]
    with _lock:
        model = _cache.get(signing_name)
        if model is None:
            if _session is None:
                _session = botocore.session.get_session()
            model = _session.get_service_model(spec.model_name, spec.api_version)
            if model.signing_name != spec.signing_name:
                raise RuntimeError(
                    "botocore model %s signs as %s, expected %s"
                    % (spec.model_name, model.signing_name, spec.signing_name)
                )
            _cache[signing_name] = model
        return model


def valid_region(region):
    """True for a region name of the "aws" partition (botocore's endpoints.json regionRegex)."""
    global _region_re
    with _lock:
        if _region_re is None:
            data = botocore.loaders.create_loader().load_data("endpoints")
            aws = [p for p in data["partitions"] if p["partition"] == "aws"][0]
            _region_re = re.compile(aws["regionRegex"])
    return bool(_region_re.match(region or ""))
