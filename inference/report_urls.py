"""Routes of the clinician's area: pages (namespace "inference", under /ai/) and API endpoints
(under /api/)."""

from django.urls import path

from inference import report_api, report_views

urlpatterns = [
    path("worklist/", report_views.worklist, name="worklist"),
    path("worklist/search/", report_views.worklist_search, name="worklist_search"),
    path("exams/<int:pk>/report/", report_views.report, name="report"),
    path("exams/<int:pk>/score/", report_views.report_score, name="report_score"),
    path("exams/<int:pk>/review/", report_views.report_review, name="report_review"),
    path(
        "exams/<int:pk>/dicom/<str:kind>/",
        report_views.report_dicom,
        name="report_dicom",
    ),
    path("disagreements/", report_views.disagreements, name="disagreements"),
]
api_urlpatterns = [
    path("ai/results/", report_api.exam_result_list, name="ai-result-list"),
    path("ai/exams/<int:exam_id>/result/", report_api.exam_result_detail, name="ai-exam-result"),
    path("ai/scoring/", report_api.scoring_submit, name="ai-scoring-submit"),
    path("ai/scoring/<int:pk>/", report_api.scoring_job, name="ai-scoring-job"),
]
