"""The Evaluate tab: where the model goes wrong.

For the model in use, or the one just trained in the Train tab, on MNIST's
test set or on the user's own samples (:meth:`EvaluateTab.use_samples`; the
entry is disabled while there are none): the confusion matrix and a gallery
of its most confident mistakes, each with the true label, the answer and
its confidence.

The work runs in an :class:`~digitpad.gui.evaluate.worker.EvaluationWorker`
on its own QThread (loading the test set and 10,000 predictions take a few
seconds); the progress bar follows it, *Stop* asks it to stop after the
current batch, and closing the window waits for it. The core function,
:func:`digitpad.model.evaluation.evaluate_images`, takes any labelled images: the
samples' 28x28 inputs are uint8 MNIST-style images, so they go in as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from digitpad.base.constants import NOT_A_DIGIT
from digitpad.data.mnist import Mnist, resolve_data_dir
from digitpad.gui.common.charts import add_image, style_axes
from digitpad.gui.common.image_io import array_image
from digitpad.gui.common.style import (
    box,
    error_label,
    muted,
    section_title,
    show_text,
    small_font,
    splitter,
    titled_panel,
)
from digitpad.gui.common.workers import Job, stop_and_wait
from digitpad.gui.evaluate.worker import EvaluationOutcome, EvaluationWorker, LabelledImages
from digitpad.gui.state.model_in_use import ModelInUse
from digitpad.gui.state.personal_samples import PersonalSamples
from digitpad.ink.samples import sample_arrays
from digitpad.model.evaluation import WORST_MISTAKES, Evaluation

if TYPE_CHECKING:
    from digitpad.model.inference import Predictor

MODEL_IN_USE, MODEL_JUST_TRAINED = 0, 1
MNIST_TEST_SET, PERSONAL_SAMPLES = 0, 1
#: Mistakes per row of the gallery.
GALLERY_COLUMNS = 6
#: Side of a mistake's image in the gallery (logical pixels: 28 x 3).
MISTAKE_SIDE = 84
SHUTDOWN_TIMEOUT_MS = 10_000


class ConfusionMatrixPlot(pg.PlotWidget):
    """Counts of (true digit, answer) as coloured cells on a log scale, numbers written in (objectName
    ``confusionMatrix``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setObjectName("confusionMatrix")
        self.setMinimumSize(360, 360)
        style_axes(self, {"left": "true digit", "bottom": "the model's answer"})
        self.image = add_image(self.getPlotItem(), axes=True)
        self.image.setColorMap(pg.colormap.get("CET-L18") if "CET-L18" in pg.colormap.listMaps() else None)
        self._texts: list[pg.TextItem] = []
        self._matrix = np.zeros((0, 0), np.int64)
        self.set_matrix(np.zeros((10, 10), np.int64))

    def set_matrix(self, matrix: np.ndarray) -> None:
        """Show ``matrix`` (10, classes): rows true digits, columns answers."""
        self._matrix = np.asarray(matrix, np.int64).copy()
        rows, columns = self._matrix.shape
        # log1p: a count of 3 stands out against 0 as clearly as 1000 against 100.
        shade = np.log1p(self._matrix).astype(np.float32)
        self.image.setImage(shade, autoLevels=False, levels=(0.0, max(float(shade.max()), 1.0)))
        self.image.setRect(-0.5, -0.5, columns, rows)
        self._write_counts(shade)
        names = [str(d) for d in range(min(columns, NOT_A_DIGIT))] + ["no"] * (columns > NOT_A_DIGIT)
        self.getAxis("bottom").setTicks([list(enumerate(names))])
        self.getAxis("left").setTicks([[(d, str(d)) for d in range(rows)]])
        self.getPlotItem().setRange(xRange=(-0.5, columns - 0.5), yRange=(-0.5, rows - 0.5), padding=0.02)

    def _write_counts(self, shade: np.ndarray) -> None:
        rows, columns = self._matrix.shape
        while len(self._texts) < rows * columns:
            text = pg.TextItem("", anchor=(0.5, 0.5))
            text.setFont(small_font(self))
            self.addItem(text)
            self._texts.append(text)
        top = max(float(shade.max()), 1.0)
        for index, text in enumerate(self._texts):
            if index >= rows * columns:
                text.setText("")
                continue
            row, column = divmod(index, columns)
            count = int(self._matrix[row, column])
            text.setText(str(count) if count else "")
            # Light text on the dark (large) cells, dark on the light ones.
            text.setColor("w" if shade[row, column] > 0.6 * top else "k")
            text.setPos(column, row)

    def matrix(self) -> np.ndarray:
        """The counts shown (for tests)."""
        return self._matrix.copy()


class MistakeGallery(QWidget):
    """The most confident mistakes, most confident first (objectName ``worstMistakes``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="worstMistakes")
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.cells: list[tuple[QLabel, QLabel]] = []
        for index in range(WORST_MISTAKES):
            image = QLabel(objectName="mistakeImage")
            image.setFixedSize(MISTAKE_SIDE, MISTAKE_SIDE)
            image.setStyleSheet("background: black;")
            caption = QLabel("", objectName="mistakeCaption")
            caption.setFont(small_font(caption))
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            row, column = divmod(index, GALLERY_COLUMNS)
            layout.addWidget(image, 2 * row, column, Qt.AlignmentFlag.AlignHCenter)
            layout.addWidget(caption, 2 * row + 1, column)
            self.cells.append((image, caption))
        layout.setRowStretch(2 * (WORST_MISTAKES // GALLERY_COLUMNS), 1)

    def show_mistakes(self, evaluation: Evaluation | None, images: np.ndarray | None) -> None:
        mistakes = evaluation.mistakes if evaluation is not None else ()
        for index, (image, caption) in enumerate(self.cells):
            if index < len(mistakes) and images is not None:
                mistake = mistakes[index]
                answer = "no digit" if mistake.predicted == NOT_A_DIGIT else str(mistake.predicted)
                pixmap = QPixmap.fromImage(array_image(images[index]))
                image.setPixmap(pixmap.scaled(MISTAKE_SIDE, MISTAKE_SIDE, Qt.AspectRatioMode.KeepAspectRatio))
                caption.setText(f"true {mistake.label} → {answer}\n{mistake.confidence:.0%} sure")
                image.setToolTip(f"Image #{mistake.index} of the set evaluated")
            else:
                image.clear()
                caption.setText("")

    def captions(self) -> list[str]:
        """The captions shown, in order (for tests)."""
        return [caption.text() for _, caption in self.cells if caption.text()]


class EvaluateTab(QWidget):
    """The Evaluate tab (objectName ``evaluationTab``): pick a model and a data set, evaluate, look.

    ``data_dir`` says where MNIST is (the Train tab's folder once it exists);
    ``data_loader`` replaces loading it (tests inject small data).
    """

    def __init__(
        self,
        model_in_use: ModelInUse,
        parent: QWidget | None = None,
        *,
        data_dir: Callable[[], Path] | None = None,
        data_loader: Callable[[Path], Mnist] | None = None,
    ) -> None:
        super().__init__(parent, objectName="evaluationTab")
        self.model_in_use = model_in_use
        self._data_dir = data_dir or resolve_data_dir
        self._data_loader = data_loader
        self._trained: Callable[[], object | None] = lambda: None
        self._samples: PersonalSamples | None = None
        self._job = Job()
        self.outcome: EvaluationOutcome | None = None
        self._build()
        self.model_in_use.changed.connect(lambda _predictor: self.update_controls())
        self.update_controls()

    def _build(self) -> None:
        self.matrix_plot = ConfusionMatrixPlot()
        self.gallery = MistakeGallery()
        matrix_panel, matrix_layout = titled_panel("Confusion matrix")
        matrix_layout.addWidget(self.matrix_plot, 1)
        gallery_panel, gallery_layout = titled_panel("The most confident mistakes")
        gallery_layout.addWidget(self.gallery, 1)
        hint = "Evaluate a model to see where it goes wrong"
        self.summary = muted(QLabel(hint, objectName="evaluationSummary", wordWrap=True))
        self.error = error_label("evaluationError")
        panels = splitter(Qt.Orientation.Horizontal, matrix_panel, gallery_panel, name="evaluationSplitter")
        box(QVBoxLayout(self), self._build_controls(), self.summary, self.error, (panels, 1), margins=10, spacing=8)

    def _build_controls(self) -> QHBoxLayout:
        self.model_combo = QComboBox(objectName="evaluationModelCombo")
        self.model_combo.addItems(["The model in use", "The model just trained"])
        self.data_combo = QComboBox(objectName="evaluationDataCombo")
        self.data_combo.addItems(["MNIST test set", "Your own samples"])
        self.evaluate_button = QPushButton("Evaluate", objectName="evaluateButton")
        self.stop_button = QPushButton("Stop", objectName="stopEvaluationButton")
        self.progress = QProgressBar(objectName="evaluationProgress", textVisible=True)
        self.evaluate_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.model_combo.currentIndexChanged.connect(lambda _index: self.update_controls())
        self.data_combo.currentIndexChanged.connect(lambda _index: self.update_controls())
        row = box(QHBoxLayout(), section_title("Model:"), self.model_combo, 12, section_title("Data:"), self.data_combo)
        return box(row, 12, self.evaluate_button, self.stop_button, (self.progress, 1))

    def follow_train_tab(self, train_tab: QWidget) -> None:
        """Offer the model ``train_tab`` just trained, and read MNIST from its data folder."""
        session = train_tab.session
        self._trained = lambda: session.trained
        self._data_dir = lambda: session.data_dir
        train_tab.trainingFinished.connect(self._on_trained)
        self.update_controls()

    def use_samples(self, samples: PersonalSamples) -> None:
        """Offer ``samples`` (the window's, shared with the teach buttons) as a data set, following their changes."""
        if self._samples is not None:
            self._samples.changed.disconnect(self.update_controls)
        self._samples = samples
        samples.changed.connect(self.update_controls)
        self.update_controls()

    def _sample_count(self) -> int:
        return sum(self._samples.counts()) if self._samples is not None else 0

    def _chosen_data(self) -> LabelledImages | None:
        """The personal samples as they are now (taken here, on the GUI thread that changes them); None: MNIST."""
        if self.data_combo.currentIndex() != PERSONAL_SAMPLES or not self._sample_count():
            return None
        images, labels = sample_arrays(self._samples.samples)
        name = f"your {len(labels)} personal sample{'s' * (len(labels) != 1)}"
        return LabelledImages(images, labels, name)

    def _on_trained(self, result: object) -> None:
        if result is not None:
            self.model_combo.setCurrentIndex(MODEL_JUST_TRAINED)
        self.update_controls()

    def _chosen_model(self) -> tuple[Callable[[], Predictor], str] | None:
        """A function giving the predictor to evaluate (called on the worker's thread) and its name."""
        if self.model_combo.currentIndex() == MODEL_JUST_TRAINED:
            trained = self._trained()
            if trained is None:
                return None

            def build() -> Predictor:
                from digitpad.model.inference import Predictor

                return Predictor(trained.model, trained.info)

            return build, "the model just trained"
        predictor = self.model_in_use.predictor
        if predictor is None:
            return None
        source = self.model_in_use.source
        return (lambda: predictor), (source.name if source is not None else "the model in use")

    def is_running(self) -> bool:
        return self._job.running()

    def update_controls(self) -> None:
        running = self.is_running()
        self.model_combo.model().item(MODEL_JUST_TRAINED).setEnabled(self._trained() is not None)
        self._update_samples_entry(running)
        chosen = None if running else self._chosen_model()
        on_samples = self.data_combo.currentIndex() == PERSONAL_SAMPLES
        self.evaluate_button.setEnabled(not running and chosen is not None)
        self.evaluate_button.setToolTip(
            ("Evaluate on your own samples" if on_samples else "Evaluate on MNIST's 10,000 test digits")
            + ", in the background"
            if chosen is not None or running
            else "No such model yet: train one in the Train tab, or load weights"
        )
        self.stop_button.setEnabled(running and not self._job.stop_requested())
        self.model_combo.setEnabled(not running)
        self.data_combo.setEnabled(not running)

    def _update_samples_entry(self, running: bool) -> None:
        count = self._sample_count()
        self.data_combo.model().item(PERSONAL_SAMPLES).setEnabled(count > 0)
        self.data_combo.setItemData(
            PERSONAL_SAMPLES,
            f"Your {count} personal sample{'s' * (count != 1)}"
            if count
            else "No samples of yours yet: teach some with the buttons under the pad",
            Qt.ItemDataRole.ToolTipRole,
        )
        if not count and not running and self.data_combo.currentIndex() == PERSONAL_SAMPLES:
            self.data_combo.setCurrentIndex(MNIST_TEST_SET)  # the last sample was deleted

    def start(self) -> bool:
        """Evaluate the chosen model on the chosen data in a worker thread; False if it cannot start."""
        chosen = self._chosen_model()
        if self.is_running() or chosen is None:
            return False
        build, name = chosen
        given = self._chosen_data()
        adapt = given is not None and self.model_in_use.adaptation_enabled
        worker = EvaluationWorker(build, name, Path(self._data_dir()), self._data_loader, given=given, adapt=adapt)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        show_text(self.error, "")
        self.progress.setRange(0, 0)  # busy until the first batch: loading the data
        self.progress.setFormat("Loading the test set…" if given is None else "Starting…")
        self._job.start(worker, self, on_finished=[self.update_controls])
        self.update_controls()
        return True

    def stop(self) -> None:
        if self.is_running():
            self._job.request_stop()
            self.update_controls()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"{done:,} of {total:,} digits")

    def _on_finished(self, outcome: EvaluationOutcome | None) -> None:
        if outcome is None:
            self.progress.setFormat("Stopped")
            return
        self.outcome = outcome
        evaluation = outcome.evaluation
        self.matrix_plot.set_matrix(evaluation.confusion)
        self.gallery.show_mistakes(evaluation, outcome.mistake_images)
        wrong = evaluation.count - evaluation.correct
        adapted = (
            ""
            if outcome.network_accuracy is None
            else f", each read adapted to your other samples (the network alone: {outcome.network_accuracy:.2%})"
        )
        self.summary.setText(
            f"{outcome.model_name} on {outcome.set_name}{adapted}: {evaluation.accuracy:.2%} right, "
            f"{wrong:,} mistakes. The matrix's rows are the true digits, its columns the answers; "
            f"right, the {len(evaluation.mistakes)} mistakes it was surest of."
        )
        self.progress.setFormat(f"Done: {evaluation.accuracy:.2%}")

    def _on_failed(self, message: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Failed")
        show_text(self.error, message)

    def shutdown(self) -> None:
        """Stop an evaluation and wait for its thread (bounded; never terminated)."""
        stop_and_wait(self._job.worker, self._job.thread, SHUTDOWN_TIMEOUT_MS)
