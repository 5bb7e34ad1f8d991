"""The app's kernel manager: at most :attr:`BoundedKernelManager.max_kernels` kernels at once.

Every page Voila serves starts a Python kernel (about 200 MB with a model loaded). Without a
bound, anyone holding the URL can open pages until the machine runs out of memory. Voila loads
this class by name (``--VoilaConfiguration.multi_kernel_manager_class``, see :mod:`.server`);
idle kernels of closed pages are culled by jupyter_server's own settings, set there too.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Int


class BoundedKernelManager(AsyncMappingKernelManager):
    """A kernel manager that refuses a new kernel (HTTP 503) when ``max_kernels`` run."""

    max_kernels = Int(20, config=True, help="Most kernels (open pages) running at once.")

    async def start_kernel(self, *, kernel_id: str | None = None, **kwargs: Any) -> str:
        if kernel_id is None and len(self.list_kernel_ids()) >= self.max_kernels:
            self.log.warning("refused a page: %d kernels are running", self.max_kernels)
            raise web.HTTPError(
                503,
                reason=f"the app serves at most {self.max_kernels} pages at once; "
                "close a page or try again later",
            )
        return await super().start_kernel(kernel_id=kernel_id, **kwargs)
