# Service endpoints from the environment, for an AWS CLI older than that feature.
#
# The compatibility tests run `aws cloudtrail validate-logs` against loopback servers. That
# command makes its own S3 client and takes no endpoint for it, so the tests give the endpoints as
# AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_CLOUDTRAIL, which botocore reads from 1.31 on (AWS CLI
# v1 with botocore 1.31+, AWS CLI v2.13+). Debian 12's awscli package is 2.9, a Python program on
# the system python3, which ignores them. The test helper (test/helpers/aws.ts) puts this folder
# on PYTHONPATH for such a CLI only: Python then runs this file at start-up, and it gives every
# client created without an endpoint the one named by AWS_ENDPOINT_URL_<SERVICE> (or
# AWS_ENDPOINT_URL), as newer botocore does for these services. Nothing else changes: the
# reference validator's own code still lists, reads, hashes and verifies everything.
import functools
import os
import sys


def _patch(session_class):
    create_client = session_class.create_client
    if getattr(create_client, '_validate_logs_endpoints', False):
        return

    @functools.wraps(create_client)
    def with_endpoint(self, service_name, *args, **kwargs):
        if len(args) < 4 and kwargs.get('endpoint_url') is None:
            name = 'AWS_ENDPOINT_URL_' + service_name.upper().replace('-', '_')
            url = os.environ.get(name) or os.environ.get('AWS_ENDPOINT_URL')
            if url:
                kwargs['endpoint_url'] = url
        return create_client(self, service_name, *args, **kwargs)

    with_endpoint._validate_logs_endpoints = True
    session_class.create_client = with_endpoint


patched = []
for module in ('awscli.botocore.session', 'botocore.session'):  # AWS CLI v2 vendors botocore
    try:
        session = __import__(module, fromlist=['Session'])
    except ImportError:
        continue
    _patch(session.Session)
    patched.append(module)

if os.environ.get('VALIDATE_LOGS_ENDPOINT_SHIM_PROBE'):
    sys.stderr.write('endpoint shim: %s\n' % (', '.join(patched) or 'no botocore found'))
    # Whether this validate-logs predates the AWS CLI's 2026 rewrite for backfill digests, which
    # also changed the start of its "Results found for" line (the tests allow for that line).
    try:
        from awscli.customizations.cloudtrail import validation
        sys.stderr.write('backfill digests: %s\n' % ('yes' if hasattr(validation, 'is_backfill_digest_key') else 'no'))
    except ImportError:
        pass
