"""The main window: the Draw, Train and Evaluate tabs, preferences and a clean shutdown.

``MainWindow()`` builds everything synchronously with the default weights
(the automation contract: tests and tools can use it straight away). The
app itself passes ``load_in_background=True``: the window is painted first
and the model (which needs torch, a second to import) and the Train tab
arrive a moment later from a loader thread, so the window shows up fast.
The personal samples are always read in a worker thread
(``window.personal_samples``: ``is_loading()``, signal ``loaded``), so a
large samples folder never holds the window back.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QPaintEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QSizePolicy, QTabWidget, QVBoxLayout, QWidget

from digitpad.base.paths import resources_dir
from digitpad.gui.common.style import box, elide_long_words, muted
from digitpad.gui.draw.tab import DrawTab
from digitpad.gui.draw.teach_bar import TeachBar
from digitpad.gui.state import preferences as prefs
from digitpad.gui.state.model_in_use import ModelInUse
from digitpad.gui.state.model_loading import LoadOutcome, load_startup_predictor
from digitpad.gui.state.personal_samples import PersonalSamples
from digitpad.gui.window.drawing_files import DrawingFiles
from digitpad.gui.window.samples_dialog import SamplesDialog
from digitpad.ink.preprocess import PEN_WIDTH_FRACTION
from digitpad.model.threads import use_one_blas_thread

if TYPE_CHECKING:  # torch stays a lazy import: the window shows before it is loaded
    from digitpad.model.inference import Predictor

log = logging.getLogger(__name__)

DRAW_TAB_INDEX, TRAIN_TAB_INDEX = 0, 1
DEFAULT_SIZE = (1240, 860)


def app_icon() -> QIcon:
    """The app's icon from resources/ (an empty icon if the files are missing)."""
    icon = QIcon()
    folder = resources_dir()
    for name in ("digitpad.svg", "digitpad.png"):
        path = folder / name
        if path.is_file():
            icon.addFile(str(path))
    return icon


class _LoaderBridge(QObject):
    """Carries the loader thread's result to the GUI thread (a queued signal)."""

    loaded = Signal(object)


class _UnavailableTab(QWidget):
    """Stands in for the Train tab while it loads, or if it cannot be built."""

    #: Painted on screen for the first time: the window is visible (start-up may go on).
    firstPainted = Signal()

    def __init__(self, message: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="trainTab")
        self.message = QLabel(message, objectName="trainTabMessage", wordWrap=True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box(QVBoxLayout(self), self.message)
        self._painted = False

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.firstPainted.emit()


class MainWindow(QMainWindow):
    """digitpad's window.

    Args:
        weights: checkpoint to start with; default: the weights used last
            time, else the shipped ones.
        settings: where preferences live; default: ``<user home>/settings.ini``.
        load_in_background: load the model and build the Train tab after the
            window is first painted, in a thread (what the app does).

    Signals:
        startupFinished: the model is in place (or known missing) and the Train tab is built.
        firstPainted: the window's first tab was painted, whichever tab that is.
    """

    startupFinished = Signal()
    firstPainted = Signal()

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        *,
        settings: QSettings | None = None,
        load_in_background: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, objectName="mainWindow")
        # Predictions run numpy matrix products on this thread; see digitpad.model.threads.
        use_one_blas_thread()
        self.setWindowTitle("digitpad")
        self.setWindowIcon(app_icon())
        self.settings = settings if settings is not None else prefs.open_settings()
        self._requested_weights = weights
        self._loader_thread: threading.Thread | None = None
        self._loader_bridge = _LoaderBridge(self)
        self._loader_bridge.loaded.connect(self._on_loaded)
        self._startup_done = False
        self._closing = False
        self._feature_layer: int | None = None
        #: The Evaluate tab, built with the Train tab (both need torch, loaded after the first paint).
        self.evaluation_view: QWidget | None = None

        #: The model the app draws with, shared by the tabs (see model_in_use.py).
        self.model_in_use = ModelInUse(self)
        self.draw_tab = DrawTab(self.model_in_use)
        # After the Draw tab's slot: the feature-map layers must be known before the last one is picked again.
        self.model_in_use.changed.connect(self._show_model_status)
        self.draw_tab.set_pen_width_fraction(prefs.read_float(self.settings, prefs.PEN_WIDTH_KEY, PEN_WIDTH_FRACTION))
        self.draw_tab.penWidthChanged.connect(lambda fraction: self.settings.setValue(prefs.PEN_WIDTH_KEY, fraction))
        self._add_personal_samples()
        self.tabs = QTabWidget(objectName="tabs", documentMode=True)
        self.tabs.addTab(self.draw_tab, "Draw")
        self.train_tab: QWidget = _UnavailableTab("Loading the Train tab…")
        self.tabs.addTab(self.train_tab, "Train")
        self.tabs.currentChanged.connect(lambda index: self.draw_tab.set_shortcuts_enabled(index == DRAW_TAB_INDEX))
        self.setCentralWidget(self.tabs)
        self.model_status = muted(QLabel("", objectName="modelStatus"))
        # A long path must not widen the window: the status bar shows what fits.
        self.model_status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.statusBar().addPermanentWidget(self.model_status)

        self._painted = False
        self.draw_tab.pad.firstPainted.connect(self._on_first_paint)
        self.train_tab.firstPainted.connect(self._on_first_paint)
        self._restore_layout()
        if load_in_background:
            self.model_in_use.set_loading()
            # Start loading once the window is on screen: the import of torch must not delay the first paint.
            self.firstPainted.connect(self._start_background_load, Qt.ConnectionType.QueuedConnection)
        else:
            self._install_train_tab()
            self._on_loaded(load_startup_predictor(weights, self._last_weights()))

    def _last_weights(self) -> str | None:
        return prefs.read_str(self.settings, prefs.LAST_WEIGHTS_KEY, "") or None

    def _start_background_load(self) -> None:
        if self._loader_thread is not None or self._startup_done or self._closing:
            return
        requested, last = self._requested_weights, self._last_weights()

        def load() -> None:
            outcome = load_startup_predictor(requested, last)
            try:  # importing the Train tab (torch, the training code) here keeps it off the GUI thread
                import digitpad.gui.train.tab  # noqa: F401
                from digitpad.gui.train.workers import warm_up_training

                # The first optimizer's one-off imports hold the GIL in long
                # chunks: get them done now, not when the Train tab is shown.
                warm_up_training()
            except ImportError:
                pass  # reported when the tab is built
            self._loader_bridge.loaded.emit(outcome)

        self._loader_thread = threading.Thread(target=load, name="digitpad-model-loader", daemon=True)
        self._loader_thread.start()

    def _on_loaded(self, outcome: LoadOutcome) -> None:
        if self._loader_thread is not None:
            self._loader_thread.join()
        if self._closing:
            return
        if isinstance(self.train_tab, _UnavailableTab) and self.train_tab.message.text().startswith("Loading"):
            self._install_train_tab()
        self.use_predictor(outcome.predictor, outcome.problem, remember=False)
        self._startup_done = True
        self.startupFinished.emit()

    def _on_first_paint(self) -> None:
        if not self._painted:
            self._painted = True
            self.firstPainted.emit()

    def has_been_painted(self) -> bool:
        """True once a tab of the window has been painted on screen."""
        return self._painted

    def is_started(self) -> bool:
        """True once the model and the Train tab are in place."""
        return self._startup_done

    def _install_train_tab(self) -> None:
        """Put the real Train tab in place (or a note on why it is not available)."""
        current = self.tabs.currentIndex()
        try:
            from digitpad.gui.train.tab import TrainTab
        except ImportError as error:
            log.warning("the Train tab is not available: %s", error)
            tab: QWidget = _UnavailableTab(f"The Train tab is not available: {error}")
        else:
            tab = TrainTab(self.settings, self.model_in_use, self, samples=self.personal_samples)
            tab.useModel.connect(self._on_model_from_train_tab)
            tab.weightsOpened.connect(self._on_model_from_train_tab)
        old = self.train_tab
        self.tabs.removeTab(TRAIN_TAB_INDEX)
        self.tabs.insertTab(TRAIN_TAB_INDEX, tab, "Train")
        self.tabs.setCurrentIndex(current)
        old.deleteLater()
        self.train_tab = tab
        self._install_evaluation_tab()

    def _install_evaluation_tab(self) -> None:
        from digitpad.gui.evaluate.tab import EvaluateTab

        if self.evaluation_view is None:
            self.evaluation_view = EvaluateTab(self.model_in_use, self)
            self.evaluation_view.use_samples(self.personal_samples)
            self.tabs.addTab(self.evaluation_view, "Evaluate")
        if not isinstance(self.train_tab, _UnavailableTab):
            self.evaluation_view.follow_train_tab(self.train_tab)

    def _add_personal_samples(self) -> None:
        """Teach buttons under the pad, the My samples dialog, and File > Save/Open drawing and Replay."""
        # Read in a worker thread: a folder of large samples must not hold back the window.
        self.personal_samples = PersonalSamples(parent=self, load_now=False)
        self.personal_samples.load_in_background()
        self.teach_bar = TeachBar(self.draw_tab, self.personal_samples)
        self.draw_tab.add_under_pad(self.teach_bar)
        self.drawing_files = DrawingFiles(self)
        samples_action = self.drawing_files.menu.addAction("My &samples…")
        samples_action.setObjectName("mySamplesAction")
        samples_action.triggered.connect(self.show_samples)
        self.teach_bar.openSamples.connect(self.show_samples)
        self.samples_dialog: SamplesDialog | None = None

    def show_samples(self) -> SamplesDialog:
        """Open (or raise) the My samples window."""
        if self.samples_dialog is None:
            self.samples_dialog = SamplesDialog(self.personal_samples, self)
        self.samples_dialog.show()
        self.samples_dialog.raise_()
        return self.samples_dialog

    def use_predictor(self, predictor: Predictor | None, problem: str | None = None, remember: bool = True) -> None:
        """Draw with ``predictor`` (None: no model); ``remember`` its file as the weights last used."""
        self.model_in_use.set(predictor, problem)
        if remember and predictor is not None:
            self._remember_weights(self.model_in_use.source)

    def _show_model_status(self, predictor: Predictor | None) -> None:
        source = self.model_in_use.source
        weights = elide_long_words(f"Weights: {source}") if source is not None else "Weights: trained in this session"
        self.model_status.setText(self.model_in_use.missing() or weights)
        if predictor is not None and self._feature_layer is not None:
            # The layer shown last time, once the model's layers are known.
            self.draw_tab.feature_maps.set_current_layer(self._feature_layer)
            self._feature_layer = None

    def _remember_weights(self, source: Path | None) -> None:
        """Keep ``source`` as the weights to start with next time (nothing kept for the shipped ones)."""
        if source is None:
            return
        from digitpad.base.paths import shipped_weights_path

        if source.resolve() == shipped_weights_path().resolve():
            self.settings.remove(prefs.LAST_WEIGHTS_KEY)
        else:
            self.settings.setValue(prefs.LAST_WEIGHTS_KEY, str(source))

    def _on_model_from_train_tab(self, predictor: Predictor) -> None:
        """The Train tab put a model in use: remember it, and show it drawing."""
        self._remember_weights(self.model_in_use.source)
        self.tabs.setCurrentIndex(DRAW_TAB_INDEX)
        self.statusBar().showMessage("Now drawing with the new model", 5000)

    def _restore_layout(self) -> None:
        """Geometry, splitters, tab and layer as saved; anything unreadable keeps its default, quietly."""
        geometry = prefs.read_bytes(self.settings, prefs.WINDOW_GEOMETRY_KEY)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(*DEFAULT_SIZE)
        for key, splitter, sizes in (
            (prefs.DRAW_SPLITTER_KEY, self.draw_tab.splitter, [600, 230]),
            (prefs.DRAW_TOP_SPLITTER_KEY, self.draw_tab.top_splitter, [760, 420]),
        ):
            state = prefs.read_bytes(self.settings, key)
            if state is None or not splitter.restoreState(state) or 0 in splitter.sizes():
                splitter.setSizes(sizes)
        self.tabs.setCurrentIndex(min(max(prefs.read_int(self.settings, prefs.LAST_TAB_KEY, 0), 0), 1))
        self._feature_layer = prefs.read_int(self.settings, prefs.FEATURE_LAYER_KEY, 0)
        self.draw_tab.feature_maps.layerChanged.connect(self._save_feature_layer)

    def _save_feature_layer(self, index: int) -> None:
        if index >= 0:
            self.settings.setValue(prefs.FEATURE_LAYER_KEY, index)

    def save_preferences(self) -> None:
        """Write window geometry, splitters, the last tab and the pen width to the settings."""
        self.settings.setValue(prefs.WINDOW_GEOMETRY_KEY, self.saveGeometry())
        self.settings.setValue(prefs.DRAW_SPLITTER_KEY, self.draw_tab.splitter.saveState())
        self.settings.setValue(prefs.DRAW_TOP_SPLITTER_KEY, self.draw_tab.top_splitter.saveState())
        self.settings.setValue(prefs.LAST_TAB_KEY, self.tabs.currentIndex())
        self.settings.setValue(prefs.PEN_WIDTH_KEY, float(self.draw_tab.pen_width_fraction()))
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._closing = True
        self.save_preferences()
        if not isinstance(self.train_tab, _UnavailableTab):  # nothing runs in a stand-in
            self.train_tab.shutdown()
        if self.evaluation_view is not None:
            self.evaluation_view.shutdown()
        self.personal_samples.shutdown()
        self.model_in_use.shutdown()  # the samples being read for adaptation
        if self._loader_thread is not None:
            # An import cannot be interrupted; it ends within a second or two.
            self._loader_thread.join()
        super().closeEvent(event)


def call_when_started(window: MainWindow, callback: Callable[[], object]) -> None:
    """Call ``callback`` (once, from the event loop) when ``window`` is painted and its startup is finished."""
    called = False

    def check() -> None:
        nonlocal called
        if not called and window.is_started() and window.has_been_painted():
            called = True
            QTimer.singleShot(0, callback)

    window.startupFinished.connect(check)
    window.firstPainted.connect(check)
    check()
