print("redlab")
