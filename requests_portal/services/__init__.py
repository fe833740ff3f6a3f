"""The request workflow's services: the only code that changes a request.

- intake: the public form and the officers' entry of e-mailed or WhatsApp'd requests; identity codes.
- workflow: the officers' steps and the requester's (answer, withdraw), four eyes on deletions.
- api: requests a merchant forwards through the JUNOPOS API (OpenDSR), and their signed status callbacks.
- lifecycle: beat's sweeps (expiry of the unverified, deadline reminders, the daily digest).
- correction: a correction request carried out field by field (propose, decide, apply).
"""

from .api import (  # noqa: F401
    ApiRequestRefused, api_request_find, api_request_status, request_api_cancel, request_api_submit,
    status_callback_queue, status_callback_send, status_callbacks_resume_stalled,
)
from .intake import (  # noqa: F401
    Upload, attachment_check, request_code_resend, request_enter, request_submit, request_validate, request_verify,
)
from .lifecycle import (  # noqa: F401
    request_expire, requests_digest, requests_expire_unverified, requests_remind,
)
from .workflow import (  # noqa: F401
    request_answer, request_attachment_read, request_approve, request_assign, request_ask, request_complete,
    request_extend, request_mark_duplicate, request_propose, request_refuse, request_start, request_withdraw,
)
from .preferences import (  # noqa: F401
    PreferenceError, ProvenAddress, preference_address, preference_choices, preference_code_send,
    preference_code_verify, preferences_save,
)
from .correction import correction_apply, correction_decide, correction_propose  # noqa: F401
from .export import (  # noqa: F401
    DownloadRefused, access_package_build, access_package_download, access_package_files_delete,
    access_packages_expire, package_url,
)
from .execution import (  # noqa: F401
    execution_preview, request_execute, request_execution_queue, request_execution_resume,
    request_executions_resume_stalled,
)
