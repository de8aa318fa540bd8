"""The reader's pages: the worklist and the keyboard-first reading screen.

The screen is a shell around the reading API (`/api/reading/`): it reads and writes every
answer through it, so a closed tab resumes where it stopped. In the arm without AI the page
holds nothing of the AI, not even an empty panel for it.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from base.roles import READING
from studies.models import Arm
from studies.reading.flow import session_unavailable_reason
from studies.reading.progress import reader_session, reader_worklist


@READING.required
def reading_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "studies/reading_list.html", {"rows": reader_worklist(reader=request.user)}
    )


@READING.required
def reading_screen(request: HttpRequest, pk: int) -> HttpResponse:
    session = reader_session(session_id=pk, reader=request.user)
    study = session.study
    waiting = None if session.finished_at else session_unavailable_reason(session)
    return render(
        request,
        "studies/reading.html",
        {
            "session": session,
            "study": study,
            "aided": session.arm == Arm.WITH_AI,
            "waiting": waiting,
            "api_base": reverse("reading-sessions").removesuffix("sessions/"),
        },
    )
